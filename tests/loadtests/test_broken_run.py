"""A stage that breaks while the load runs is marked BROKEN, not drawn as a result.

The runner starts the monolith itself (as `make demo` does); once a short headless
Locust run has counted some requests, the test kills the monolith's process group from
outside, as a crash would. The run must record the process that exited, and
the table and the report must mark the stage broken.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from loadtests import report, results
from loadtests.locust_process import LoadSettings
from loadtests.runner import Target, run_stage
from tests.loadtests.report_reading import Page

SMOKE = LoadSettings(shape="smoke", profile="short", pacing="fixed", rate=10.0)
LOAD_BEFORE_CRASH = 20  # requests Locust has counted (its progress file) before the crash


def _gunicorn_master(needle: str) -> int | None:
    """The monolith's gunicorn master: a child of this process whose environment names
    the stage's data folder (its DATABASE_URL)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"gunicorn" in cmdline and needle.encode() in environ and parent == os.getpid():
            return int(entry.name)
    return None


def _answered(progress: Path) -> int:
    """The requests the running load test has counted so far (0 before its first report)."""
    try:
        return int(json.loads(progress.read_text())["requests"])
    except (OSError, ValueError, KeyError):
        return 0


def _crash_when_loaded(folder: Path, data_root: Path, killed: list[int]) -> None:
    deadline = time.monotonic() + 90
    # Some load first: the crash must come in the middle of the run, after requests.
    while _answered(folder / "progress.json") < LOAD_BEFORE_CRASH and time.monotonic() < deadline:
        time.sleep(0.1)
    master = _gunicorn_master(str(data_root))
    if master:
        os.killpg(master, signal.SIGKILL)  # the launcher runs it as its own process group
        killed.append(master)


def test_a_stage_that_breaks_mid_run_is_marked_broken(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # the stage's data folder
    folder = tmp_path / "comparison" / "monolith"
    killed: list[int] = []
    crash = threading.Thread(target=_crash_when_loaded, args=(folder, tmp_path, killed))
    crash.start()
    try:
        run = run_stage(Target("monolith"), SMOKE, folder)
    finally:
        crash.join()
    assert killed, "the monolith's gunicorn was not found"
    assert run["exited_during_run"] == ["monolith"], run

    found = results.read_comparison(folder.parent)
    table = report.terminal_table(found)
    assert table.splitlines()[2].split() == ["status", "BROKEN"], table
    assert "!! monolith is BROKEN: monolith exited while the load ran" in table
    page = Page(report.write(found, folder.parent).read_text())
    assert page.statuses == {"monolith": "BROKEN"}
    assert page.broken_columns == {"monolith"}
    (finding,) = page.summary
    assert finding[:2] == ("broken", "monolith") and "exited while the load ran" in finding[2]
    assert page.offered == set()  # no offered load from a broken run
