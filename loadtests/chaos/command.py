"""`python -m loadtests chaos STAGE --db sqlite|postgresql` (make chaos STAGE= DB=)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from loadtests.chaos.run import DEFAULT_LOAD, ChaosResult, ChaosSettings, run_chaos
from loadtests.locust_process import PACINGS, LoadSettings
from loadtests.runner import REPORTS, new_folder, say
from stages import postgres
from stages.definitions import DATABASES, STAGES
from stages.launcher import LaunchError


def add_parser(commands: argparse._SubParsersAction) -> None:
    chaos = commands.add_parser(
        "chaos", help="one stage under load and faults, then a reconciliation (make chaos)"
    )
    chaos.add_argument("stage", choices=list(STAGES))
    chaos.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    chaos.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL databases after the run"
    )
    chaos.add_argument("--shape", default=DEFAULT_LOAD.shape, help="a load shape (steady)")
    chaos.add_argument("--profile", default=DEFAULT_LOAD.profile, help="short (~45 s) or full")
    chaos.add_argument("--pacing", choices=PACINGS, default=DEFAULT_LOAD.pacing)
    chaos.add_argument("--rate", type=float, default=DEFAULT_LOAD.rate, help="tasks/s per user")
    defaults = ChaosSettings()
    chaos.add_argument(
        "--every", type=float, default=defaults.every, help="seconds between two faults"
    )
    chaos.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
    chaos.add_argument("--failure-rate", type=float, default=defaults.failure_rate)
    chaos.add_argument(
        "--wait", type=float, default=defaults.wait, help="seconds to wait for the stage to settle"
    )
    chaos.add_argument("--out", type=Path, default=REPORTS, help="reports folder (./reports)")


def main(args: argparse.Namespace) -> int:
    """Run it; 0 when every check held, 1 when one failed (or the run went wrong)."""
    if not 0.0 <= args.failure_rate <= 1.0 or args.latency_ms < 0:
        raise ValueError("--failure-rate is 0.0 .. 1.0 and --latency-ms 0 or more")
    started = time.monotonic()
    settings = ChaosSettings(
        load=LoadSettings(args.shape, args.profile, args.pacing, args.rate),
        every=args.every,
        latency_ms=args.latency_ms,
        failure_rate=args.failure_rate,
        wait=args.wait,
    )
    folder = new_folder(args.out) / args.stage
    try:
        result = _run(args, settings, folder)
    except (LaunchError, RuntimeError) as error:  # the stage, or PostgreSQL, is not there
        print(f"error: {error}", file=sys.stderr)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # only if the run left nothing in it
        return 2
    say(f"reconciliation: {(folder / 'reconciliation.txt').resolve()}")
    say(f"load report: {(folder.parent / 'report.html').resolve()}")
    say(f"took {time.monotonic() - started:.0f} s")
    return 0 if result.passed else 1


def _run(args: argparse.Namespace, settings: ChaosSettings, folder: Path) -> ChaosResult:
    with ExitStack() as stack:
        urls, where = None, None
        if args.db == "postgresql":
            prefix = f"threefold_chaos_{args.stage}"
            urls = stack.enter_context(
                postgres.stage_databases(prefix, DATABASES[args.stage], keep=args.keep)
            )
            fate = "kept (--keep)" if args.keep else "dropped at the end (--keep keeps them)"
            where = f"PostgreSQL {', '.join(urls.values())}; {fate}"
        return run_chaos(args.stage, settings, folder, urls, where)
