"""What the split stages pay on top of their hops, as ratios measured in one run.

- a service's /healthz (the catalog's) next to a bare FastAPI app's, both on the
  services' own uvicorn command (stages/definitions.py);
- GET /api/products/TF-0001 through each stage's public port: the microservices and
  the functions stages (gateway, then service or function) next to the monolith.

Every process runs at once; wrk measures each target in turn, round after round,
so a busy machine slows all of them alike; the ratios are of the medians.

    python -m benchmarks.service_overhead [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.product_lookup import wrk
from stages.definitions import StageOptions, _uvicorn
from stages.launcher import FileSink, Launcher, ProcessSpec
from stages.listeners import Listener
from stages.running import running_stage

READ_PATH = "/api/products/TF-0001"
STAGES = ("monolith", "microservices", "functions")


@contextmanager
def _targets(work: Path) -> Iterator[dict[str, str]]:
    """Every stage and the bare app running; the URL of each measured target by name."""
    sink = FileSink(work / "servers.log")
    listener = Listener()
    bare = ProcessSpec(
        "bare-fastapi",
        _uvicorn("benchmarks.bare_fastapi:create_app"),
        listener.port,
        listener=listener,
    )
    with ExitStack() as stack:
        stack.enter_context(Launcher([bare], sink=sink))
        urls = {}
        for stage in STAGES:
            options = StageOptions(port=0, data_dir=work / stage)
            urls[stage] = stack.enter_context(running_stage(stage, options, sink=sink))
        catalog = next(p for p in urls["microservices"].plan.processes if p.name == "catalog")
        yield {
            "bare FastAPI /healthz": f"{bare.url}/healthz",
            "catalog service /healthz": f"{catalog.url}/healthz",
            **{f"{stage} GET {READ_PATH}": f"{urls[stage].url}{READ_PATH}" for stage in STAGES},
        }


def measure(seconds: int = 5, rounds: int = 3, connections: int = 16) -> list[dict[str, float]]:
    """Req/s of every target, per round; targets alternate within each round."""
    work = Path(tempfile.mkdtemp(prefix="threefold-overhead-"))
    print(f"==> starting every stage and a bare FastAPI app (logs in {work})", flush=True)
    with _targets(work) as targets:
        for url in targets.values():  # warm-up: imports, pools, keep-alive connections
            wrk(url, 1, connections)
        results: dict[str, list[float]] = {name: [] for name in targets}
        for number in range(1, rounds + 1):
            for name, url in targets.items():
                results[name].append(wrk(url, seconds, connections))
                print(f"    round {number}: {name:<40} {results[name][-1]:8.0f} req/s", flush=True)
    return [{name: values[n] for name, values in results.items()} for n in range(rounds)]


def rows(seconds: int = 5, rounds: int = 3, connections: int = 16) -> list[tuple[str, float, str]]:
    """(figure, ratio, target) for the benchmark table: one run, each ratio the median of
    its rounds' ratios (a round measures both sides within seconds, so a neighbour's
    burst on a shared machine skews one round, not the figure)."""
    per_round = measure(seconds, rounds, connections)

    def ratio(name: str, base: str) -> float:
        return statistics.median(rps[name] / rps[base] for rps in per_round)

    monolith = f"monolith GET {READ_PATH}"
    return [
        (
            "a service's /healthz vs a bare FastAPI app, same uvicorn set-up",
            ratio("catalog service /healthz", "bare FastAPI /healthz"),
            ">= 0.8x",
        ),
        *(
            (
                f"{stage} read path req/s vs the monolith (GET {READ_PATH})",
                ratio(f"{stage} GET {READ_PATH}", monolith),
                ">= 0.5x",
            )
            for stage in ("microservices", "functions")
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does it)", file=sys.stderr)
        return 1
    table = rows(args.seconds, args.rounds, args.connections)
    print(f"\nwrk -c{args.connections}, median of {args.rounds} rounds' ratios:")
    for figure, ratio, target in table:
        print(f"  {figure:<70} {ratio:5.2f}x  (target {target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
