"""make chaos, short, on every stage with PostgreSQL: faults under load, then the reconciliation.

Each stage is started on fresh PostgreSQL databases and loaded for 20 s (the `brief` shape:
eight shoppers, about two orders a second) while processes are killed and restarted,
paused and resumed, with the payment provider slow (200 ms) and failing (30 %). The test
asserts that faults really happened (the fault log, and the stage's own log showing the
killed process started a second time) and that the reconciliation read from the databases
passed: every order final, stock conserved per sku and per order, captures equal to
confirmed totals, one notification per final order.
"""

from __future__ import annotations

import re
import sys

import pytest

from loadtests.chaos.run import ChaosSettings, run_chaos
from loadtests.locust_process import LoadSettings
from stages.definitions import DATABASES, STAGES
from tests.support.postgres import fresh_databases

SHORT = ChaosSettings(
    load=LoadSettings(shape="brief", profile="short", pacing="fixed", rate=5.0),
    every=2.0,
    first_after=2.0,
    wait=25.0,
)
# A server's start-up line: uvicorn, gunicorn's master, hypercorn (the functions).
STARTED = re.compile(r"Started server process|Starting gunicorn|Running on http")  # text or JSON


@pytest.fixture(autouse=True)
def _locust_stays_outside():
    yield
    inside = {"locust", "gevent"} & set(sys.modules)
    assert not inside, f"{inside} imported into the test process: run Locust as a process"


@pytest.mark.postgres
@pytest.mark.parametrize("stage", list(STAGES))
def test_faults_under_load_leave_a_stage_that_reconciles(stage, tmp_path):
    folder = tmp_path / "reports" / stage
    with fresh_databases(*DATABASES[stage]) as urls:
        result = run_chaos(stage, SHORT, folder, urls, where="PostgreSQL (test databases)")

    # Faults were really injected: a process killed and back, one paused and resumed ...
    seen = [(event.what, event.target) for event in result.faults]
    killed = next(target for what, target in seen if what == "SIGKILL")
    assert seen.index(("restarted", killed)) > seen.index(("SIGKILL", killed)), seen
    paused = next(target for what, target in seen if what == "SIGSTOP")
    assert seen.index(("SIGCONT", paused)) > seen.index(("SIGSTOP", paused)), seen
    # ... and the stage's own log shows the killed process starting a second time.
    log = (folder / "stage.log").read_text(errors="replace").splitlines()
    starts = [line for line in log if line.startswith(f"{killed} | ") and STARTED.search(line)]
    assert len(starts) >= 2, f"{killed} started {len(starts)} time(s): {starts}"

    reconciliation = result.reconciliation
    assert reconciliation is not None, result.problems
    assert (folder / "reconciliation.txt").read_text() == reconciliation.text()
    assert "no order was placed" not in " ".join(result.problems)
    assert result.passed, "\n".join([*result.problems, reconciliation.text()])
