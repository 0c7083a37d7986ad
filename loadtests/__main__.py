"""The load tests' command line: run one stage, compare stages, the demo, rebuild a report.

python -m loadtests run monolith --shape step --profile short
python -m loadtests run monolith --url http://shop.example --namespace threefold-monolith
python -m loadtests compare --shape spike --pacing fixed --rate 2
python -m loadtests compare --url monolith=http://... --namespace monolith=threefold-monolith
python -m loadtests demo
python -m loadtests capacity monolith --profile short --read-p95 250 --order-p95 1000
python -m loadtests report reports/20260101-120000
python -m loadtests in-cluster monolith --url http://monolith.threefold-monolith:8080 --workers 2
python -m loadtests fetch reports/cluster
python -m loadtests chaos microservices --db postgresql
python -m loadtests project --stage monolith --load 10x --cpu-ms monolith=4.2 --rps 47
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from loadtests import (
    capacity_run,
    capacity_section,
    cluster_results,
    cold_start,
    in_cluster,
    report,
    results,
)
from loadtests.capacity import Objective
from loadtests.chaos import command as chaos
from loadtests.locust_process import PACINGS, LoadSettings
from loadtests.projection import command as projection
from loadtests.runner import REPORTS, Target, compare, new_folder, say
from loadtests.verdict import judge
from stages.definitions import STAGES

# The demo: every stage, one after the other, on this machine; about 45 s of load each.
# 10 tasks/s per user (up to 150 tasks/s): at 3 every stage carries the same ~48 req/s
# with the same curves; at 10 the stages' costs show in latency and in what they carry.
DEMO_RATE = 10.0
DEMO = LoadSettings(shape="step", profile="short", pacing="fixed", rate=DEMO_RATE)
# Then the capacity ramp on each stage: 5 steps of 8 s, stopped at the first that breaks.
DEMO_RAMP = capacity_run.RampSettings(profile="short", rate=DEMO_RATE)


def _load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shape", default="step", help="steady, step, spike or idle-burst")
    parser.add_argument("--profile", default="short", help="short (~45 s) or full (minutes)")
    parser.add_argument("--pacing", choices=PACINGS, default="fixed")
    parser.add_argument(
        "--rate", type=float, default=DEMO_RATE, help="tasks/s per user (fixed pacing)"
    )
    parser.add_argument("--out", type=Path, default=REPORTS, help="reports folder (./reports)")
    parser.add_argument("--kube-context", help="kubeconfig context (default: the current one)")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("ADMIN_TOKEN"),
        help="to seed a running stage's empty catalog (default: $ADMIN_TOKEN)",
    )


def _objective_options(parser: argparse.ArgumentParser) -> None:
    default = Objective()
    parser.add_argument(
        "--read-p95", type=float, default=default.read_p95_ms, help="ms, the read path's p95"
    )
    parser.add_argument(
        "--order-p95", type=float, default=default.order_p95_ms, help="ms, order completion p95"
    )
    parser.add_argument(
        "--max-errors", type=float, default=100 * default.error_rate, help="percent of requests"
    )


def _ramp(args: argparse.Namespace) -> capacity_run.RampSettings:
    objective = Objective(args.read_p95, args.order_p95, args.max_errors / 100)
    return capacity_run.RampSettings(args.profile, args.rate, objective)


def _pairs(given: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in given:
        stage, _, value = item.partition("=")
        if stage not in STAGES or not value:
            raise SystemExit(f"{option} wants STAGE=VALUE with a stage of {', '.join(STAGES)}")
        pairs[stage] = value
    return pairs


def _settings(args: argparse.Namespace) -> LoadSettings:
    return LoadSettings(args.shape, args.profile, args.pacing, args.rate)


def _finish(path: Path, found: list[results.StageResult], started: float) -> int:
    print()
    print(report.terminal_table(found))
    print()
    say(f"report: {path.resolve()}")
    say(f"took {time.monotonic() - started:.0f} s")
    broken = any(judge(r).is_broken for r in found)
    return 1 if broken or not found else 0


def _results_folder(folder: Path) -> list[results.StageResult]:
    """The stage results kept in `folder`; a folder that holds none is a usage error."""
    if not folder.is_dir():
        raise UsageError(
            f"no folder {folder}: give the folder a run wrote, reports/<timestamp> "
            f"(newest here: {_newest(REPORTS) or 'none yet'})"
        )
    found = results.read_comparison(folder)
    if not found:
        newest = _newest(folder)
        hint = f"; did you mean {newest}?" if newest else ""
        raise UsageError(f"{folder} holds no stage results (<stage>/run.json){hint}")
    return found


def _newest(root: Path) -> Path | None:
    runs = sorted(root.glob("*/*/run.json")) if root.is_dir() else []
    return runs[-1].parent.parent if runs else None


class UsageError(ValueError):
    """A command given something it cannot use: printed as one line, exit code 2."""


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: Locust and the stage are stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="load one stage (make load)")
    run.add_argument("stage", choices=list(STAGES))
    run.add_argument("--url", help="a running stage's base URL (default: start it here)")
    run.add_argument("--namespace", help="sample this Kubernetes namespace's replicas")
    _load_options(run)

    both = commands.add_parser("compare", help="the same load against each stage (make compare)")
    both.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    both.add_argument("--url", action="append", default=[], metavar="STAGE=URL")
    both.add_argument("--namespace", action="append", default=[], metavar="STAGE=NAMESPACE")
    _load_options(both)
    _objective_options(both)
    both.add_argument("--no-capacity", action="store_true", help="no capacity ramp after the load")

    ramp = commands.add_parser("capacity", help="the capacity ramp against one stage")
    ramp.add_argument("stage", choices=list(STAGES))
    ramp.add_argument("--url", help="a running stage's base URL (default: start it here)")
    ramp.add_argument("--profile", default="short", help="short (5 steps of 8 s) or full")
    ramp.add_argument("--rate", type=float, default=DEMO_RATE, help="tasks/s per user")
    ramp.add_argument("--out", type=Path, default=REPORTS, help="reports folder (./reports)")
    ramp.add_argument("--admin-token", default=os.environ.get("ADMIN_TOKEN"))
    _objective_options(ramp)

    demo = commands.add_parser("demo", help="every stage here, the short step profile (make demo)")
    demo.add_argument("--out", type=Path, default=REPORTS)
    demo.add_argument("--profile", default="short", help="full: minutes of load and a longer ramp")

    rebuild = commands.add_parser("report", help="write report.html again from a results folder")
    rebuild.add_argument("folder", type=Path)

    chaos.add_parser(commands)
    in_cluster.add_parser(commands)
    cluster_results.add_parser(commands)
    projection.add_parser(commands)

    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        if args.command == "chaos":
            return chaos.main(args)
        if args.command == "in-cluster":
            return in_cluster.main(args)
        if args.command == "fetch":
            return cluster_results.main(args)
        if args.command == "project":
            return projection.main(args)
        if args.command == "capacity":
            target = Target(args.stage, args.url, admin_token=args.admin_token)
            folder = new_folder(args.out) / args.stage
            say(f"results in {folder}/")
            found = capacity_run.run_capacity(target, _ramp(args), folder)
            print()
            print("\n".join(capacity_section.terminal_rows([(args.stage, found)])))
            return 0 if "capacity" in found else 1
        if args.command == "report":
            found = _results_folder(args.folder)
            return _finish(report.write(found, args.folder), found, started)
        if args.command == "run":
            targets = [Target(args.stage, args.url, args.namespace, args.admin_token)]
            settings, context, ramp = _settings(args), args.kube_context, None
        elif args.command == "compare":
            urls, spaces = _pairs(args.url, "--url"), _pairs(args.namespace, "--namespace")
            targets = [Target(s, urls.get(s), spaces.get(s), args.admin_token) for s in args.stages]
            settings, context = _settings(args), args.kube_context
            ramp = None if args.no_capacity else _ramp(args)
        else:
            targets, context = [Target(s) for s in STAGES], None
            settings = replace(DEMO, profile=args.profile)
            ramp = replace(DEMO_RAMP, profile=args.profile)
        folder = new_folder(args.out)
        if any(t.stage == "functions" and t.url is None for t in targets):
            # the projection's cold start, timed once for this run (a few seconds)
            say(f"timing a cold start for the projection ({cold_start.DEMO_ROUNDS} rounds)")
            cold_start.time_once(folder)
        then = capacity_run.after_load(ramp) if ramp else None
        path, found = compare(targets, settings, folder, context, then)
        return _finish(path, found, started)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: Locust and the stage were stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
