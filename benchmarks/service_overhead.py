"""What the split stages pay on top of their hops, as ratios measured in one run.

- a service's /healthz (the catalog's) next to a bare FastAPI app's, both on the
  services' own uvicorn command (stages/definitions.py);
- GET /api/products/TF-0001 through each stage's public port: the microservices and
  the functions stages (gateway, then service or function) next to the monolith;
- the floor of that ratio: the monolith's own read behind a minimal proxy
  (benchmarks/minimal_proxy.py, on the services' uvicorn command, forwarding through
  the gateway's pool), next to the monolith's read alone: one hop and nothing else.

The stages run as the load runs start them (loadtests/runner.py): TRACE_SAMPLE_RATIO=0,
so only a request that asks for a trace is traced; what tracing costs on top is the
tracing rows' figure (benchmarks/tracing_cost.py).

Every process runs at once; wrk measures each target in turn, round after round,
so a busy machine slows all of them alike; the ratios are of the medians.

    python -m benchmarks.service_overhead [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.product_lookup import wrk, wrk_missing
from loadtests.runner import LOAD_TRACE_SAMPLE_RATIO
from stages.definitions import StageOptions, _uvicorn
from stages.launcher import FileSink, Launcher, ProcessSpec
from stages.listeners import Listener
from stages.running import running_stage

READ_PATH = "/api/products/TF-0001"
STAGES = ("monolith", "microservices", "functions")
BEHIND_PROXY = f"monolith behind a minimal proxy GET {READ_PATH}"
FLOOR = "floor: the monolith's read behind a minimal proxy vs the monolith (one hop)"


@contextmanager
def _targets(work: Path) -> Iterator[dict[str, tuple[str, list[int]]]]:
    """Every stage and the bare app running; by target name, its URL and the processes
    that answer it (for the CPU they spend)."""
    sink = FileSink(work / "servers.log")
    listener = Listener()
    bare = ProcessSpec(
        "bare-fastapi",
        _uvicorn("benchmarks.bare_fastapi:create_app"),
        listener.port,
        listener=listener,
    )
    with ExitStack() as stack:
        bare_pids = list(stack.enter_context(Launcher([bare], sink=sink)).pids().values())
        urls = {}
        for stage in STAGES:
            options = StageOptions(
                port=0,
                data_dir=work / stage,
                env={"TRACE_SAMPLE_RATIO": LOAD_TRACE_SAMPLE_RATIO},
            )
            urls[stage] = stack.enter_context(running_stage(stage, options, sink=sink))
        catalog = next(p for p in urls["microservices"].plan.processes if p.name == "catalog")
        catalog_pid = urls["microservices"].launcher.pids()["catalog"]
        proxy_listener = Listener()
        proxy = ProcessSpec(
            "minimal-proxy",
            _uvicorn("benchmarks.minimal_proxy:create_app"),
            proxy_listener.port,
            env={"UPSTREAM": urls["monolith"].url},
            listener=proxy_listener,
        )
        proxy_pids = list(stack.enter_context(Launcher([proxy], sink=sink)).pids().values())
        monolith_pids = list(urls["monolith"].launcher.pids().values())
        yield {
            "bare FastAPI /healthz": (f"{bare.url}/healthz", bare_pids),
            "catalog service /healthz": (f"{catalog.url}/healthz", [catalog_pid]),
            **{
                f"{stage} GET {READ_PATH}": (
                    f"{urls[stage].url}{READ_PATH}",
                    list(urls[stage].launcher.pids().values()),
                )
                for stage in STAGES
            },
            BEHIND_PROXY: (f"{proxy.url}{READ_PATH}", proxy_pids + monolith_pids),
        }


@dataclass(frozen=True)
class Sample:
    rps: float  # requests per second wrk measured
    cpu_ms: float  # CPU milliseconds per request, of every process that answers the target


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes and their children (gunicorn's workers)."""
    total = 0.0
    for pid in pids:
        process = psutil.Process(pid)
        for each in [process, *process.children(recursive=True)]:
            times = each.cpu_times()
            total += times.user + times.system
    return total


def _sample(url: str, pids: list[int], seconds: int, connections: int) -> Sample:
    before = _cpu_seconds(pids)
    rps = wrk(url, seconds, connections).rps
    return Sample(rps, (_cpu_seconds(pids) - before) * 1000 / max(rps * seconds, 1))


def measure(seconds: int = 5, rounds: int = 3, connections: int = 16) -> list[dict[str, Sample]]:
    """Req/s and CPU per request of every target, per round; targets alternate in a round.

    The CPU per request hardly depends on what else the machine runs; req/s does."""
    work = Path(tempfile.mkdtemp(prefix="threefold-overhead-"))
    print(f"==> starting every stage and a bare FastAPI app (logs in {work})", flush=True)
    with _targets(work) as targets:
        for url, _ in targets.values():  # warm-up: imports, pools, keep-alive connections
            wrk(url, 1, connections)
        results: dict[str, list[Sample]] = {name: [] for name in targets}
        for number in range(1, rounds + 1):
            for name, (url, pids) in targets.items():
                sample = _sample(url, pids, seconds, connections)
                results[name].append(sample)
                print(
                    f"    round {number}: {name:<40} {sample.rps:8.0f} req/s "
                    f"{sample.cpu_ms:6.2f} CPU ms/request",
                    flush=True,
                )
    return [{name: values[n] for name, values in results.items()} for n in range(rounds)]


@dataclass(frozen=True)
class Ratio:
    figure: str
    rps: float  # req/s of the target over req/s of its base
    cpu: float  # CPU per request of the base over the target's: higher is better, as rps
    target: str


def rows(seconds: int = 5, rounds: int = 3, connections: int = 16) -> list[Ratio]:
    """The ratios for the benchmark table: one run, each ratio the median of its rounds'
    ratios (a round measures both sides within seconds, so a neighbour's burst on a
    shared machine skews one round, not the figure)."""
    return ratios(measure(seconds, rounds, connections))


def ratios(per_round: list[dict[str, Sample]]) -> list[Ratio]:
    def ratio(figure: str, name: str, base: str, target: str) -> Ratio:
        return Ratio(
            figure,
            statistics.median(each[name].rps / each[base].rps for each in per_round),
            statistics.median(each[base].cpu_ms / each[name].cpu_ms for each in per_round),
            target,
        )

    monolith = f"monolith GET {READ_PATH}"
    return [
        ratio(
            "a service's /healthz vs a bare FastAPI app, same uvicorn set-up",
            "catalog service /healthz",
            "bare FastAPI /healthz",
            ">= 0.8x",
        ),
        *(
            ratio(
                f"{stage} read path req/s vs the monolith (GET {READ_PATH})",
                f"{stage} GET {READ_PATH}",
                monolith,
                ">= 0.5x",
            )
            for stage in ("microservices", "functions")
        ),
        ratio(FLOOR, BEHIND_PROXY, monolith, "-"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    if missing := wrk_missing():
        print(missing, file=sys.stderr)
        return 1
    per_round = measure(args.seconds, args.rounds, args.connections)
    print(f"\nwrk -c{args.connections}, req/s, median of {args.rounds} rounds' ratios:")
    for each in ratios(per_round):
        print(
            f"  {each.figure:<76} {each.rps:5.2f}x  ({each.cpu:.2f}x by CPU/request; "
            f"target {each.target})"
        )
    print("\nCPU per request (all the target's processes), median of the rounds:")
    for name in per_round[0]:
        cpu_ms = statistics.median(each[name].cpu_ms for each in per_round)
        print(f"  {name:<44} {cpu_ms:6.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
