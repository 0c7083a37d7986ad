"""`python -m loadtests project`: the projection to a cluster, printed as tables.

python -m loadtests project --stage monolith --load 10x --cpu-ms monolith=4.2 --rps 47
python -m loadtests project --stage functions --load 100x --from reports/<ts>/functions
python -m loadtests project --stage microservices --load 10x --from figures.json --shape step
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from loadtests.projection.demand import StageDemand, demand_from_dict, parse_cpu_ms
from loadtests.projection.manifests import stage_workloads
from loadtests.projection.run_figures import demand_from_run
from loadtests.projection.steady import StageProjection, as_dict, parse_load, project
from loadtests.projection.table import steady_table, timeline_table
from loadtests.projection.timeline import StageTimeline, stage_timeline

STAGES = ("monolith", "microservices", "functions")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "project", help="project replicas and cores on a cluster from the manifests"
    )
    parser.add_argument("--stage", choices=STAGES, required=True)
    parser.add_argument("--load", default="10x", help="10x, 100x or e.g. 500rps (default 10x)")
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--from", dest="source", type=Path, help="a run's stage folder, or a figures JSON file"
    )
    given.add_argument("--cpu-ms", help="NAME=MS,... CPU ms per request of each component")
    parser.add_argument("--rps", type=float, help="the measured request rate (with --cpu-ms)")
    parser.add_argument("--orders-per-request", type=float, help="default: the locustfile's mix")
    parser.add_argument("--cold-start-ms", type=float, help="a pod's start, measured here")
    parser.add_argument("--shape", help="also replicas over time: step, spike, idle-burst...")
    parser.add_argument("--profile", default="full", help="the shape's profile (default full)")
    parser.add_argument("--tail", type=int, default=0, help="idle seconds after the shape")
    parser.add_argument("--json", type=Path, help="also write the projection here as JSON")


def read_demand(args: argparse.Namespace) -> StageDemand:
    if args.source is not None:
        if args.source.is_dir():
            demand = demand_from_run(args.source, args.cold_start_ms)
        elif args.source.is_file():
            demand = demand_from_dict(json.loads(args.source.read_text()))
        else:
            raise ValueError(f"--from {args.source}: no such folder or file")
    else:
        if args.rps is None:
            raise ValueError("--cpu-ms needs --rps, the request rate it was measured at")
        data = {
            "stage": args.stage,
            "measured_rps": args.rps,
            "components": parse_cpu_ms(args.cpu_ms),
            "cold_start_ms": args.cold_start_ms,
            "source": "the command line (--cpu-ms)",
        }
        if args.orders_per_request is not None:
            data["orders_per_request"] = args.orders_per_request
        demand = demand_from_dict(data)
    if demand.stage != args.stage:
        raise ValueError(f"the figures are the {demand.stage} stage's, not {args.stage}'s")
    return demand


def shape_stages(shape: str, profile: str) -> list[dict]:
    """The shape's stages, asked of loadtests.shapes in a child process (it imports
    locust, which must not patch this one)."""
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.shapes", shape, "--profile", profile],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise ValueError(f"no shape {shape!r} ({profile}): {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)["stages"]


def projection_of(stage: str, demand: StageDemand, factor: float) -> StageProjection:
    """The stage's rendered overlay projected at `factor` x the demand's request rate."""
    try:
        workloads = stage_workloads(stage)
    except RuntimeError as error:  # no kubectl, or the overlay does not render
        raise ValueError(str(error)) from None
    return project(workloads, demand, factor)


def timeline_of(
    stage: str, demand: StageDemand, shape: str, profile: str, peak_rps: float, tail_s: int = 0
) -> StageTimeline:
    """The stage's replicas over the named shape, its peak at `peak_rps`."""
    try:
        workloads = stage_workloads(stage)
    except RuntimeError as error:
        raise ValueError(str(error)) from None
    return stage_timeline(workloads, demand, shape_stages(shape, profile), peak_rps, tail_s)


def main(args: argparse.Namespace) -> int:
    demand = read_demand(args)
    factor = parse_load(args.load, demand.measured_rps)
    projection = projection_of(args.stage, demand, factor)
    print(steady_table(projection, demand))
    found: dict = {"kind": "projected", "steady": as_dict(projection), "demand": asdict(demand)}
    if args.shape:
        timeline = timeline_of(
            args.stage, demand, args.shape, args.profile, projection.load_rps, args.tail
        )
        print()
        print(timeline_table(timeline, args.shape, demand.cold_start_ms is not None))
        found["timeline"] = asdict(timeline) | {"shape": args.shape, "profile": args.profile}
    if args.json:
        args.json.write_text(json.dumps(found, indent=1, default=str) + "\n")
    return 0
