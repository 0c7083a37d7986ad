"""Requests per second of GET /api/products/{sku} next to a trivial JSON endpoint.

Both run under the same gunicorn settings (monolith/gunicorn_conf.py), one
after the other in one run, driven by wrk from a separate process, so the
ratio is meaningful even on a busy machine where absolute numbers are not.
The monolith runs as a load run starts it (loadtests/runner.py): spans go to
files, but only a request sent with a sampled traceparent is traced
(TRACE_SAMPLE_RATIO=0), so the ratio is the app's cost, not tracing's (that one
is benchmarks/tracing_cost.py). SETTINGS says what both run with.

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
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cpu import tree_cpu_ms
from stages.definitions import PYTHON, StageOptions
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port
from stages.running import running_stage

GUNICORN = [PYTHON, "-m", "gunicorn", "-c", "python:monolith.gunicorn_conf"]


@dataclass
class Load:
    """One wrk run: requests per second, and the server's CPU milliseconds per request."""

    rps: float
    cpu_per_request: float


def wrk_missing() -> str | None:
    """Why wrk cannot run here (it is not installed), or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed: apt-get install wrk (make bench does it)"
    return None


def wrk(url: str, seconds: int, connections: int, server_pid: int | None = None) -> Load:
    """What wrk measured (non-2xx answers make it fail loudly), and what it cost the
    server (`server_pid` and its children) in CPU per request."""
    cpu_before = tree_cpu_ms(server_pid) if server_pid else 0.0
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors:\n{out}")
    cpu = tree_cpu_ms(server_pid) - cpu_before if server_pid else 0.0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return Load(rps, cpu / max(requests, 1))


# As loadtests/runner.py's LOAD_TRACE_SAMPLE_RATIO: what a load run traces.
LOAD_TRACE_SAMPLE_RATIO = "0"
SETTINGS = (
    "gunicorn as monolith/gunicorn_conf.py (WEB_CONCURRENCY=2 gthread workers, THREADS=4, "
    "no access log, LOG_LEVEL=info, JSON logs); monolith TRACE_SAMPLE_RATIO="
    f"{LOAD_TRACE_SAMPLE_RATIO} with spans to files, the trivial app untraced"
)
TRIVIAL = "trivial JSON endpoint"
PRODUCT = "GET /api/products/{sku}"


def measure(seconds: int, connections: int, rounds: int) -> dict[str, list[Load]]:
    """Each endpoint's load per round; the two alternate, so both see the same machine."""
    work = Path(tempfile.mkdtemp(prefix="threefold-bench-"))
    sink = FileSink(work / "servers.log")
    port = free_port()
    trivial = ProcessSpec(
        "trivial",
        [*GUNICORN, "benchmarks.trivial_app:app"],
        port,
        env={"BIND": f"127.0.0.1:{port}"},
    )
    options = StageOptions(
        port=0, data_dir=work, env={"TRACE_SAMPLE_RATIO": LOAD_TRACE_SAMPLE_RATIO}
    )
    print(f"==> starting the monolith and the trivial app (logs in {work})", flush=True)
    print(f"    {SETTINGS}", flush=True)
    with (
        running_stage("monolith", options, sink=sink) as stage,
        Launcher([trivial], sink=sink) as trivial_launcher,
    ):
        servers = {  # the gunicorn masters; their workers are their children
            TRIVIAL: trivial_launcher.pids()["trivial"],
            PRODUCT: stage.launcher.pids()["monolith"],
        }
        targets = {
            TRIVIAL: f"{trivial.url}/trivial",
            PRODUCT: f"{stage.url}/api/products/TF-0001",
        }
        for url in targets.values():  # warm-up
            wrk(url, 2, connections)
        results: dict[str, list[Load]] = {name: [] for name in targets}
        for round_number in range(1, rounds + 1):
            for name, url in targets.items():
                load = wrk(url, seconds, connections, servers[name])
                results[name].append(load)
                print(
                    f"    round {round_number}: {name:<24} {load.rps:9.0f} req/s "
                    f"{load.cpu_per_request:6.3f} ms CPU/request",
                    flush=True,
                )
    return results


def ratio(results: dict[str, list[Load]]) -> float:
    """The product lookup's median req/s over the trivial endpoint's."""
    return _median(results[PRODUCT], "rps") / _median(results[TRIVIAL], "rps")


def cpu_ratio(results: dict[str, list[Load]]) -> float:
    """The same ratio from the CPU each request cost the server: what req/s would be
    on an otherwise idle machine, and far steadier than req/s on a busy one."""
    return _median(results[TRIVIAL], "cpu_per_request") / _median(
        results[PRODUCT], "cpu_per_request"
    )


def _median(loads: list[Load], what: str) -> float:
    return statistics.median(getattr(load, what) for load in loads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measurement (10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    args = parser.parse_args(argv)
    if missing := wrk_missing():
        print(missing, file=sys.stderr)
        return 1
    results = measure(args.seconds, args.connections, args.rounds)
    print(f"\nsame gunicorn set-up, wrk -c{args.connections}, median of {args.rounds}:")
    for name, loads in results.items():
        rps, cpu = _median(loads, "rps"), _median(loads, "cpu_per_request")
        print(f"  {name:<24} {rps:9.0f} req/s   {cpu:6.3f} ms CPU/request")
    print(f"  ratio: {ratio(results):.2f}x trivial by req/s, {cpu_ratio(results):.2f}x by CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
