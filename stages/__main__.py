"""Run a stage in the foreground until Ctrl-C.

A process that exits on its own, before or after the stage was ready, stops the
stage with a non-zero exit, naming the process, its exit code and its last lines.

python -m stages run monolith --port 8000
python -m stages run monolith --database-url postgresql://postgres@127.0.0.1/shop
python -m stages run microservices --database-url catalog=postgresql://.../catalog ...
python -m stages trace functions [--order ID]     (one order's trace, as a waterfall)
"""

from __future__ import annotations

import argparse
import os
import re
import signal
from pathlib import Path

from shop.startup_errors import readable_lines
from stages import trace
from stages.definitions import DATABASES, STAGES, StageOptions
from stages.launcher import LaunchError
from stages.running import running_stage


def launch_failure(message: str) -> str:
    """The launcher's error in a few lines: its first line, shortened, and the readable lines
    the failed process printed (shop.startup_errors); else the whole message as it is."""
    first, *output = message.splitlines()
    readable = readable_lines("\n".join(output))
    if not readable:
        return f"error: {message}"
    step = re.search(r"-m (\S+) .* failed \((\d+)\)", first)  # a migrate or seed step
    head = f"{step[1]} failed with code {step[2]}" if step else first.split("; its last")[0]
    return "\n".join([f"error: {head}:", *(f"  {line}" for line in dict.fromkeys(readable))])


def _stop_on_sigterm() -> None:
    def handler(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _let_the_stop_finish() -> None:
    """A second Ctrl-C (or `timeout`'s SIGTERM to the whole group) must not cut the stop
    short: it is bounded anyway (SIGKILL after the stop timeout)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start a stage and keep it running")
    run.add_argument("stage", choices=list(STAGES))
    run.add_argument("--port", type=int, default=8000, help="public port (default 8000; 0: any)")
    run.add_argument("--data-dir", type=Path, help="SQLite files (default: ./data/<stage>)")
    run.add_argument(
        "--database-url",
        action="append",
        default=[],
        metavar="[NAME=]URL",
        help="a PostgreSQL database instead of a SQLite file; NAME is one of the stage's "
        "databases (monolith; catalog, inventory, ... for microservices), default: the first",
    )
    run.add_argument("--no-seed", action="store_true", help="do not load the demo catalog")
    show = commands.add_parser("trace", help="one order's trace as a waterfall")
    show.add_argument("stage", choices=list(STAGES))
    show.add_argument("--order", help="the order's id (default: the latest order traced)")
    show.add_argument("--data-dir", type=Path, help="the stage's data (default: ./data/<stage>)")
    args = parser.parse_args(argv)
    if args.command == "trace":
        code, text = trace.show(args.stage, args.order, args.data_dir)
        print(text)
        return code

    _stop_on_sigterm()
    urls = {}
    for given in args.database_url:
        name, _, url = given.rpartition("=") if "=" in given.split("://")[0] else ("", "", given)
        urls[name or DATABASES[args.stage][0]] = url
    if os.environ.get("DATABASE_URL") and not urls:
        # The monolith has one database: DATABASE_URL names it, as the settings table says.
        # The split stages have one per context: --database-url NAME=URL for each.
        if args.stage != "monolith":
            print(f"note: DATABASE_URL is ignored by {args.stage}; give --database-url NAME=URL")
        else:
            urls["monolith"] = os.environ["DATABASE_URL"]
    options = StageOptions(port=args.port, data_dir=args.data_dir, database_urls=urls)
    try:
        with running_stage(args.stage, options, seed=not args.no_seed) as stage:
            print(f"\n{stage.plan.name} is ready at {stage.url}  (Ctrl-C stops it)", flush=True)
            print(f"  storefront: open {stage.url}/ in a browser", flush=True)
            for process in stage.plan.processes:
                print(f"  {process.name:<14} {process.url}", flush=True)
            try:
                stage.launcher.wait()
                stage.launcher.check()
            except KeyboardInterrupt:
                _let_the_stop_finish()
                print("\nstopping ...", flush=True)
    except LaunchError as error:
        print(launch_failure(str(error)))
        return 1
    except KeyboardInterrupt:
        print("\nstopped before it was ready")
        return 130
    print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
