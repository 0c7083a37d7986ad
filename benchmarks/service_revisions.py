"""Requests per second of the catalog service's GET /api/products/{sku} at two revisions.

The catalog service of an earlier revision (`--before`, any git revision) and of this
working tree run side by side, each on its own copy of one seeded database, under the
uvicorn settings the stage uses. wrk loads them in alternating rounds, and each round
also counts the service's CPU time per request, which a busy machine disturbs far less
than requests per second. It was written to price a framework idiom (FastAPI
dependencies and response models instead of hand-built answers).

    python -m benchmarks.service_revisions --before cb27f02
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from benchmarks.product_lookup import wrk, wrk_missing
from stages.definitions import EDGE_PROTOCOL, PYTHON
from stages.launcher import ROOT, free_port

PATH = "/api/products/TF-0001"


def export(revision: str, into: Path) -> Path:
    """The files of `revision` (git archive), to run its code beside the working tree's."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def seeded_database(work: Path) -> Path:
    """The catalog database of the demo shop, made by this tree's migrations and seed."""
    urls = {context: f"sqlite:///{work / context}.sqlite" for context in ("catalog", "inventory")}
    for context, url in urls.items():
        migrate = [PYTHON, "-m", "shop.persistence.migrate", "--url", url, "--context", context]
        subprocess.run(migrate, cwd=ROOT, check=True, capture_output=True)
    seed = [PYTHON, "-m", "shop.seed", "--catalog-url", urls["catalog"]]
    subprocess.run([*seed, "--inventory-url", urls["inventory"]], cwd=ROOT, check=True)
    return work / "catalog.sqlite"


@dataclass
class Service:
    name: str
    url: str
    process: psutil.Process

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system


@contextmanager
def catalog_service(name: str, source: Path, database: Path, log: Path) -> Iterator[Service]:
    """The catalog service with the code of `source` (its working directory comes first on
    sys.path), started as the stage starts it (stages/definitions.py), stopped at the end."""
    port = free_port()
    argv = [
        PYTHON, "-m", "shop.startup", "uvicorn", "--factory",
        "microservices.catalog.app:create_app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--http", EDGE_PROTOCOL,
    ]  # fmt: skip
    env = os.environ | {"DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(source)}
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=source, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield Service(name, url, psutil.Process(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the service exited ({process.returncode}), see its log")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url}: not ready after {timeout:.0f} s")


def measure(service: Service, seconds: int, connections: int) -> tuple[float, float]:
    """Requests per second (wrk), and the service's CPU milliseconds per request: the
    second depends far less on what else the machine runs than the first."""
    cpu_before = service.cpu_seconds()
    rps = wrk(f"{service.url}{PATH}", seconds, connections)
    cpu_ms = (service.cpu_seconds() - cpu_before) * 1000 / (rps * seconds)
    return rps, cpu_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--seconds", type=int, default=10, help="per measurement (10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    args = parser.parse_args(argv)
    if missing := wrk_missing():
        print(missing, file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="threefold-revisions-"))
    before_source = export(args.before, work / "before")
    database = seeded_database(work)
    shutil.copy(database, work / "catalog-before.sqlite")
    log = work / "services.log"
    print(f"==> {args.before} against the working tree (logs in {log})", flush=True)
    with (
        catalog_service("before", before_source, work / "catalog-before.sqlite", log) as before,
        catalog_service("after", ROOT, database, log) as after,
    ):
        for service in (before, after):  # warm-up
            measure(service, 2, args.connections)
        results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for round_number in range(1, args.rounds + 1):
            for service in (before, after):
                rps, cpu_ms = measure(service, args.seconds, args.connections)
                results[service.name].append((rps, cpu_ms))
                print(
                    f"    round {round_number}: {service.name:<7} {rps:8.0f} req/s"
                    f"  {cpu_ms:6.2f} ms CPU per request",
                    flush=True,
                )
    pairs = list(zip(results["before"], results["after"], strict=True))
    rps_ratios = [after[0] / before[0] for before, after in pairs]
    cpu_ratios = [after[1] / before[1] for before, after in pairs]
    print(f"\nGET {PATH} on the catalog service, wrk -c{args.connections}, after / before:")
    print("  req/s, per round:           " + "  ".join(f"{r:.2f}" for r in rps_ratios))
    print("  CPU per request, per round: " + "  ".join(f"{r:.2f}" for r in cpu_ratios))
    print(f"  CPU per request, median of the rounds' ratios: {statistics.median(cpu_ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
