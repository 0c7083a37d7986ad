"""python -m tools.podrun: every workload of every overlay, run from its image."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import replace
from pathlib import Path

import psycopg

from tools.podrun.containers import ContainerError
from tools.podrun.manifests import ManifestError
from tools.podrun.run import Outcome, StageRun

STAGES = ("monolith", "microservices", "functions")
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.podrun", description=__doc__)
    parser.add_argument(
        "--overlay",
        action="append",
        type=Path,
        help="an overlay to run (default: k8s/<stage> for every stage)",
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("TEST_POSTGRES_URL", ADMIN_URL),
        help="a PostgreSQL superuser; runs make their roles and databases there",
    )
    parser.add_argument(
        "--logs",
        type=Path,
        default=Path(".cache/podrun"),
        help="where each process's output goes (one folder per run)",
    )
    args = parser.parse_args(argv)
    overlays = args.overlay or [Path("k8s") / stage for stage in STAGES]
    run_id = secrets.token_hex(3)
    logs = args.logs / run_id
    _say(f"podrun {run_id}: {len(overlays)} overlay(s), logs in {logs}/")
    began = time.monotonic()
    outcomes: list[Outcome] = []
    for overlay in overlays:
        stage = StageRun(overlay.name, overlay, run_id, args.admin_url, logs, _say)
        try:
            stage.run()
        except (ManifestError, ContainerError, psycopg.Error) as error:
            stage.outcomes.append(Outcome(str(overlay), False, str(error)))
            _say(f"  {overlay}: {error}")
        finally:
            try:
                stage.close()
            except psycopg.Error as error:  # the run's result stands; say what is left
                _say(f"  {overlay}: could not drop the run's databases: {error}")
        outcomes += [replace(o, workload=f"{overlay.name} {o.workload}") for o in stage.outcomes]
    failed = [o for o in outcomes if not o.passed]
    _say(f"== {len(outcomes)} workload(s) in {time.monotonic() - began:.0f} s")
    for o in outcomes:
        _say(f"  {'PASS' if o.passed else 'FAIL'} {o.workload}: {o.detail.splitlines()[0]}")
    for o in failed:
        _say(f"-- {o.workload}:\n{o.detail}")
    _say(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
