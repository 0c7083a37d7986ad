"""Cold start of an event function: process start to its first event handled.

Starts `reserve-stock` as a fresh process (as Knative starts a pod from zero),
and POSTs one shop.order.placed CloudEvent at it in a tight loop until it
answers 2xx; prints the time from process start to that answer, over a few
rounds. The imports (SQLAlchemy, pydantic, the cloudevents SDK) dominate: over 95%
of the instructions to the first answer (valgrind --tool=callgrind).

Each round also times two baselines, alternated with the cold start so that all
three see the same machine: the bare interpreter (`python -c pass`) and the floor,
a process that only imports the libraries an event function cannot answer without
(FLOOR_IMPORTS). The cold start's ratio to the floor carries across a busy machine
where its milliseconds do not: what is above 1x is the shop's own start-up.

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

# What an event function must import before it can answer one event: SQLAlchemy and its
# SQLite dialect (the inbox and the context's tables), pydantic-settings (its settings),
# the cloudevents SDK's HTTP binding, func-python's server (hypercorn) and
# prometheus_client (the metrics each event moves).
FLOOR_IMPORTS = (
    "import sqlalchemy, sqlalchemy.dialects.sqlite, pydantic_settings, prometheus_client,"
    " cloudevents.core.bindings.http, func_python.cloudevent"
)


def one_process(code: str) -> tuple[float, float]:
    """Wall and CPU milliseconds of `python -c code`, from start to the end of `code`: the
    process then leaves at once (os._exit), since the interpreter's tidying up of every
    module at exit, which no cold start pays before its first answer, costs as much as
    the imports."""
    before = os.times()
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", f"{code}\nimport os\nos._exit(0)"], check=True)
    wall = (time.perf_counter() - started) * 1000
    after = os.times()
    used = after.children_user + after.children_system
    return wall, (used - before.children_user - before.children_system) * 1000


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
    run = measure_with_baselines(rounds, verbose)
    return run["cold start"][0], run["cold start"][1]


BARE, FLOOR, COLD = "bare interpreter", "floor (libraries only)", "cold start"


def measure_with_baselines(rounds: int, verbose: bool = True) -> dict[str, list[list[float]]]:
    """Per target (BARE, FLOOR, COLD): its wall and its CPU milliseconds, one per round."""
    work = Path(tempfile.mkdtemp(prefix="threefold-cold-"))
    inventory = f"sqlite:///{work / 'inventory.sqlite'}"
    catalog = f"sqlite:///{work / 'catalog.sqlite'}"
    run_step(
        [PYTHON, "-m", "shop.persistence.migrate", "--url", inventory, "--context", "inventory"]
    )
    run_step([PYTHON, "-m", "shop.persistence.migrate", "--url", catalog, "--context", "catalog"])
    run_step([PYTHON, "-m", "shop.seed", "--catalog-url", catalog, "--inventory-url", inventory])
    targets = {
        BARE: lambda: one_process("pass"),
        FLOOR: lambda: one_process(FLOOR_IMPORTS),
        COLD: lambda: one_cold_start(inventory),
    }
    found: dict[str, list[list[float]]] = {name: [[], []] for name in targets}
    for round_number in range(1, rounds + 1):
        order = list(targets) if round_number % 2 else list(reversed(targets))
        for name in order:
            wall, used = targets[name]()
            found[name][0].append(wall)
            found[name][1].append(used)
        if verbose:
            print(
                f"    round {round_number}: "
                + ", ".join(
                    f"{n} {found[n][0][-1]:.0f} ms ({found[n][1][-1]:.0f} CPU)" for n in targets
                ),
                flush=True,
            )
    return found


def floor_ratio(run: dict[str, list[list[float]]]) -> tuple[float, float]:
    """The cold start's median wall and CPU over the floor's: 1x is the libraries alone."""
    return (
        statistics.median(run[COLD][0]) / statistics.median(run[FLOOR][0]),
        statistics.median(run[COLD][1]) / statistics.median(run[FLOOR][1]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    run = measure_with_baselines(args.rounds)
    times, cpu = run[COLD]
    print(
        f"cold start of reserve-stock (process start -> first event handled), "
        f"{args.rounds} rounds: median {statistics.median(times):.0f} ms, "
        f"min {min(times):.0f} ms, max {max(times):.0f} ms; "
        f"CPU median {statistics.median(cpu):.0f} ms"
    )
    for name in (BARE, FLOOR):
        walls, used = run[name]
        print(
            f"  {name}: median {statistics.median(walls):.0f} ms, "
            f"CPU median {statistics.median(used):.0f} ms"
        )
    by_wall, by_cpu = floor_ratio(run)
    print(f"  cold start / floor: {by_wall:.2f}x by wall time, {by_cpu:.2f}x by CPU")
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
