"""Cold start of an event function: process start to its first event handled.

Starts `reserve-stock` as a fresh process (as Knative starts a pod from zero),
and POSTs one shop.order.placed CloudEvent at it in a tight loop until it
answers 2xx; prints the time from process start to that answer, over a few
rounds. The imports (SQLAlchemy, pydantic, the cloudevents SDK) dominate.

    .venv/bin/python -m benchmarks.function_cold_start [--rounds 3] [--json figure.json]

With --json it also writes the figures there (median_ms, min_ms, max_ms, rounds,
timed_at): the load tests' projection reads that file (loadtests/cold_start.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from cloudevents.core.bindings.http import to_binary_event

from benchmarks.cpu import cpu_ms
from functions.runtime.saga_events import ORDER_PLACED, new_event
from stages.definitions import PYTHON
from stages.launcher import ROOT, free_port, run_step


def one_cold_start(database: str) -> tuple[float, float]:
    """Wall and CPU milliseconds from process start to the first event's 2xx."""
    port = free_port()
    env = os.environ | {"LISTEN_ADDRESS": f"127.0.0.1:{port}", "INVENTORY_DATABASE_URL": database}
    order_id = f"ord_cold{time.monotonic_ns()}"
    data = {"order_id": order_id, "lines": {"TF-0001": 1}, "amount_cents": 100,
            "currency": "EUR", "payment_token": "tok_visa"}  # fmt: skip
    message = to_binary_event(new_event(ORDER_PLACED, order_id, data, "bench"))
    started = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-m", "functions.reserve_stock"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(timeout=2) as client:
            while True:
                try:
                    answer = client.post(
                        f"http://127.0.0.1:{port}/", headers=message.headers, content=message.body
                    )
                    if answer.is_success:
                        return (time.perf_counter() - started) * 1000, cpu_ms(process.pid)
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError("the function exited before it answered")
                time.sleep(0.005)
    finally:
        process.terminate()
        process.wait(10)


def measure(rounds: int, verbose: bool = True) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of `rounds` cold starts on a fresh database."""
    work = Path(tempfile.mkdtemp(prefix="threefold-cold-"))
    inventory = f"sqlite:///{work / 'inventory.sqlite'}"
    catalog = f"sqlite:///{work / 'catalog.sqlite'}"
    run_step(
        [PYTHON, "-m", "shop.persistence.migrate", "--url", inventory, "--context", "inventory"]
    )
    run_step([PYTHON, "-m", "shop.persistence.migrate", "--url", catalog, "--context", "catalog"])
    run_step([PYTHON, "-m", "shop.seed", "--catalog-url", catalog, "--inventory-url", inventory])
    times, cpu = [], []
    for round_number in range(1, rounds + 1):
        wall, used = one_cold_start(inventory)
        times.append(wall)
        cpu.append(used)
        if verbose:
            print(f"    round {round_number}: {wall:.0f} ms ({used:.0f} ms CPU)", flush=True)
    return times, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    times, cpu = measure(args.rounds)
    print(
        f"cold start of reserve-stock (process start -> first event handled), "
        f"{args.rounds} rounds: median {statistics.median(times):.0f} ms, "
        f"min {min(times):.0f} ms, max {max(times):.0f} ms; "
        f"CPU median {statistics.median(cpu):.0f} ms"
    )
    if args.json:
        figures = {
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "max_ms": max(times),
            "rounds": args.rounds,
            "timed_at": time.time(),
        }
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
