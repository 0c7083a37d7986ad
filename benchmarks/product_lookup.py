"""Requests per second of GET /api/products/{sku} next to a trivial JSON endpoint.

Both run under the same gunicorn settings (monolith/gunicorn_conf.py), one
after the other in one run, driven by wrk from a separate process, so the
ratio is meaningful even on a busy machine where absolute numbers are not.

    make bench            (installs wrk from Debian's packages if it is missing)
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from stages.definitions import PYTHON, StageOptions
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port
from stages.running import running_stage

GUNICORN = [PYTHON, "-m", "gunicorn", "-c", "python:monolith.gunicorn_conf"]


def wrk(url: str, seconds: int, connections: int) -> float:
    """Requests per second that wrk measured (non-2xx answers make it fail loudly)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


TRIVIAL = "trivial JSON endpoint"
PRODUCT = "GET /api/products/{sku}"


def measure(seconds: int, connections: int, rounds: int) -> dict[str, list[float]]:
    """req/s of each endpoint per round; the two alternate, so both see the same machine."""
    work = Path(tempfile.mkdtemp(prefix="threefold-bench-"))
    sink = FileSink(work / "servers.log")
    port = free_port()
    trivial = ProcessSpec(
        "trivial",
        [*GUNICORN, "benchmarks.trivial_app:app"],
        port,
        env={"BIND": f"127.0.0.1:{port}"},
    )
    options = StageOptions(port=0, data_dir=work)
    print(f"==> starting the monolith and the trivial app (logs in {work})", flush=True)
    with running_stage("monolith", options, sink=sink) as stage, Launcher([trivial], sink=sink):
        targets = {
            TRIVIAL: f"{trivial.url}/trivial",
            PRODUCT: f"{stage.url}/api/products/TF-0001",
        }
        for url in targets.values():  # warm-up
            wrk(url, 2, connections)
        results: dict[str, list[float]] = {name: [] for name in targets}
        for round_number in range(1, rounds + 1):
            for name, url in targets.items():
                rps = wrk(url, seconds, connections)
                results[name].append(rps)
                print(f"    round {round_number}: {name:<24} {rps:9.0f} req/s", flush=True)
    return results


def ratio(results: dict[str, list[float]]) -> float:
    """The product lookup's median req/s over the trivial endpoint's."""
    return statistics.median(results[PRODUCT]) / statistics.median(results[TRIVIAL])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measurement (10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does it)", file=sys.stderr)
        return 1
    results = measure(args.seconds, args.connections, args.rounds)
    base = statistics.median(results[TRIVIAL])
    print(f"\nsame gunicorn set-up, wrk -c{args.connections}, median of {args.rounds}:")
    for name, values in results.items():
        rps = statistics.median(values)
        print(f"  {name:<24} {rps:9.0f} req/s   {rps / base:5.2f} x trivial")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
