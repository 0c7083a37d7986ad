"""Real Locust runs, each in a process of its own, against the monolith started by the launcher.

The smoke shape (two users, ten seconds) at a fixed 10 tasks/s per user sends
about 200 tasks, one in twenty an order: the chance of a run with no order is
about 0.95^200 (3 in 100,000).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from loadtests import replicas, report, results
from loadtests.locust_process import ROOT, LoadSettings
from loadtests.runner import Target, run_stage, stage_url
from stages.definitions import StageOptions
from stages.launcher import FileSink, free_port
from stages.running import running_stage
from tests.loadtests.recorded_kubernetes import NAMESPACE, api_paths, recorded, write_kubeconfig
from tests.loadtests.report_reading import Page, check_numbers_match_locust, csv_rows

ADMIN_TOKEN = "loadtest-admin-token"
SMOKE = LoadSettings(shape="smoke", profile="short", pacing="fixed", rate=10.0)
ENDPOINTS = [
    "GET /api/products",
    "GET /api/products?q=",
    "GET /api/products/{sku}",
    "GET /api/stock/{sku}",
    "POST /api/orders",
]


def test_a_short_headless_run_has_no_failures_and_its_csv_reads_back(
    tmp_path, kubernetes_api, monkeypatch
):
    # As on a cluster: the replicas of a namespace are sampled while Locust runs (here from
    # recorded API answers), and kept beside Locust's output.
    api = kubernetes_api({path: recorded(name) for name, path in api_paths().items()})
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", api.url)))
    folder = tmp_path / "comparison" / "monolith"
    options = StageOptions(port=0, data_dir=tmp_path / "data", env={"ADMIN_TOKEN": ADMIN_TOKEN})
    sink = FileSink(tmp_path / "stage.log")
    # Not seeded by the launcher: the runner seeds a running stage over the admin API.
    with running_stage("monolith", options, sink=sink, seed=False) as stage:
        target = Target("monolith", stage.url, NAMESPACE, admin_token=ADMIN_TOKEN)
        run = run_stage(target, SMOKE, folder, sample_every=2.0)
        catalog = httpx.get(f"{stage.url}/api/products", params={"per_page": 100}).json()

    assert "error" not in run, run
    assert run["locust_exit_code"] == 0, (folder / "locust.log").read_text()  # no failure
    assert catalog["total"] == 60
    rows = {(r["Type"], r["Name"]): r for r in csv_rows(folder / "locust_stats.csv")}
    for name in ENDPOINTS:
        method = name.split()[0]
        assert int(rows[(method, name)]["Request Count"]) > 0, name
    assert all(row["Failure Count"] == "0" for row in rows.values())
    completed = int(rows[("ORDER", "order completion")]["Request Count"])
    assert 0 < completed <= int(rows[("POST", "POST /api/orders")]["Request Count"])
    outcomes = {r["Outcome"]: int(r["Count"]) for r in csv_rows(folder / "locust_orders.csv")}
    assert sum(outcomes.values()) == completed
    assert set(outcomes) <= {"confirmed", "out_of_stock", "payment_declined"}
    history = csv_rows(folder / "locust_stats_history.csv")
    assert {r["Name"] for r in history} >= {"Aggregated", "order completion", *ENDPOINTS}
    assert (folder / "locust.html").stat().st_size > 0

    samples = replicas.read_csv(folder / replicas.FILE_NAME)
    assert len({s.time for s in samples}) >= 5  # every 2 s for 13 s, and one at the end
    assert {s.kind for s in samples} == {"Deployment", "Revision", "HorizontalPodAutoscaler"}
    assert samples[0].time == pytest.approx(run["started_at"], abs=1)  # as Locust starts
    assert samples[-1].time == pytest.approx(run["ended_at"], abs=1)  # and when it ended

    found = results.read_comparison(folder.parent)
    page = report.write(found, folder.parent)
    check_numbers_match_locust(folder.parent, page.read_text(), ["monolith"])
    cost = replicas.core_seconds(samples, run["ended_at"])
    assert Page(page.read_text()).cells[("monolith", "core_seconds")] == f"{cost:,.1f}"


def test_a_stage_started_here_is_seeded_and_its_data_removed_after(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with stage_url(Target("monolith"), tmp_path) as url:
        assert httpx.get(f"{url}/api/products").json()["total"] == 60
        (data,) = tmp_path.glob("threefold-load-monolith-*")
    assert not data.exists()
    assert "monolith |" in (tmp_path / "stage.log").read_text()


def test_an_unreachable_stage_is_recorded_with_its_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    run = run_stage(Target("monolith", url=url), SMOKE, tmp_path / "monolith")
    assert run["error"].startswith("ConnectError")
    assert "error" in (tmp_path / "monolith" / "run.json").read_text()


def test_every_shape_has_a_short_profile_of_about_45_seconds():
    # The shapes module imports locust: it is asked in a process of its own.
    listed = subprocess.run(
        [sys.executable, "-m", "loadtests.shapes"], cwd=ROOT, capture_output=True, check=True
    )
    durations = {(d["shape"], d["profile"]): d["duration"] for d in json.loads(listed.stdout)}
    for shape in ("steady", "step", "spike", "idle-burst"):
        assert 40 <= durations[(shape, "short")] <= 50, shape
        assert durations[(shape, "full")] >= 240, shape
    assert LoadSettings(shape="step", profile="short").describe()["duration"] == 48
    with pytest.raises(ValueError, match="invalid choice"):
        LoadSettings(shape="sawtooth").describe()


def _processes_mentioning(needle: str) -> list[int]:
    """Live processes (not zombies) whose command line or environment contains the needle."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle.encode() in blob and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def test_ctrl_c_stops_locust_and_the_stage(tmp_path):
    """The runner on the command line, interrupted while Locust runs: nothing is left."""
    (tmp_path / "tmp").mkdir()
    output = tmp_path / "runner.out"
    command = [sys.executable, "-m", "loadtests", "run", "monolith", "--shape", "steady"]
    command += ["--out", str(tmp_path / "reports")]
    with output.open("w") as out:
        runner = subprocess.Popen(
            command,
            cwd=ROOT,
            # The stage's data folder goes under tmp_path too, so every process of this run
            # has tmp_path in its command line or environment.
            env=os.environ | {"TMPDIR": str(tmp_path / "tmp"), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 60
        while "s left" not in output.read_text() and runner.poll() is None:
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        assert len(_processes_mentioning(str(tmp_path))) >= 4  # runner, locust, gunicorn x2
        runner.send_signal(signal.SIGINT)
        assert runner.wait(30) == 130, output.read_text()
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert "interrupted" in output.read_text()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(tmp_path)) == []
    (run_json,) = (tmp_path / "reports").glob("*/monolith/run.json")
    assert '"error": "interrupted"' in run_json.read_text()
    assert not list((tmp_path / "tmp").iterdir())  # the stage's data folder is removed
    shutil.rmtree(tmp_path / "reports")
