"""The comparison report, built from fixed Locust output (fixtures/comparison/).

The fixtures are the kept output of one `make demo` run (the history cut to
the Aggregated, order completion and product view rows), the functions stage
given a replica timeline as if it had run on a cluster. The numbers on the
page must be Locust's own, and the page must render its charts in a real
browser (Debian's chromium, which `make install` installs) with no script
error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from loadtests import report, results
from tests.loadtests.recorded_kubernetes import FIXTURES
from tests.loadtests.report_reading import Page, check_numbers_match_locust

STAGES = ["monolith", "microservices", "functions"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def comparison(tmp_path) -> Path:
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    return folder


def _built(folder: Path) -> tuple[Path, list[results.StageResult]]:
    found = results.read_comparison(folder)
    return report.write(found, folder), found


def test_the_report_shows_locusts_own_numbers(comparison):
    path, found = _built(comparison)
    assert [r.stage for r in found] == STAGES
    check_numbers_match_locust(comparison, path.read_text(), STAGES)


def test_core_seconds_and_replicas_come_from_the_replica_timeline(comparison):
    path, _ = _built(comparison)
    page = Page(path.read_text())
    # gateway 0.2 cores, catalog-read 0.125, place-order 0.275 (fixtures/.../replicas.csv):
    # samples every 5 s from the start, the last one held until the end (1.6661792 s later)
    last = 1795705872.6661792 - (1795705826 + 45)
    gateway = 0.2 * (5 * (1 + 1 + 1 + 1 + 2 + 2 + 2 + 2 + 2) + 2 * last)
    catalog = 0.125 * (5 * (1 + 1 + 1 + 2 + 2 + 3 + 3 + 3 + 3) + 3 * last)
    place = 0.275 * (5 * (0 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 2) + 2 * last)
    assert page.cells[("functions", "core_seconds")] == f"{gateway + catalog + place:,.1f}"
    assert page.cells[("functions", "peak_replicas")] == "7"
    assert page.cells[("monolith", "core_seconds")] == "-"  # ran locally: no cluster
    assert set(page.charts["chart-replicas"]) == {"functions"}


def test_the_terminal_gets_the_same_table(comparison):
    path, found = _built(comparison)
    page = Page(path.read_text())
    lines = report.terminal_table(found).splitlines()
    assert lines[0].split() == ["metric", *STAGES]
    for metric in report.metrics_for(found):
        row = next(line for line in lines if line.startswith(metric.label + " "))
        assert row.split()[-3:] == [page.cells[(s, metric.key)] for s in STAGES]


def test_a_stage_that_did_not_run_is_shown_with_its_error(comparison):
    shutil.rmtree(comparison / "functions")
    (comparison / "functions").mkdir()
    error = "LaunchError: broker exited with code 3 before it was ready"
    run = {"stage": "functions", "order": 3, "error": error, "started_at": None}
    (comparison / "functions" / "run.json").write_text(json.dumps(run))
    path, found = _built(comparison)
    page = Page(path.read_text())
    assert page.cells[("functions", "rps")] == "-"
    assert error in path.read_text()
    assert report.terminal_table(found).splitlines()[-1] == f"functions: {error}"
    check_numbers_match_locust(comparison, path.read_text(), STAGES[:2])


def render_in_chromium(page: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and what the browser logged."""
    assert Path(CHROMIUM).exists(), "chromium is missing: `make install` installs it"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_the_charts_render_in_a_real_browser_with_no_script_error(comparison, tmp_path):
    path, _ = _built(comparison)
    dom, log = render_in_chromium(path, tmp_path)
    page = Page(dom)
    assert "data-script-error" not in page.body, page.body
    assert "Uncaught" not in log, log
    wanted = ["rps", "p50", "p95", "p99", "fps", "order_p95", "users", "replicas"]
    assert list(page.charts) == [f"chart-{c}" for c in wanted]
    # the page's own check: every chart has a line the browser laid out with a size
    assert page.body.get("data-charts-drawn") == str(len(wanted))
    for chart, stages in page.charts.items():
        assert stages == ({"functions"} if chart == "chart-replicas" else set(STAGES)), chart


def test_a_script_error_would_be_seen(comparison, tmp_path):
    path, _ = _built(comparison)
    broken = path.read_text().replace('"use strict";', '"use strict"; undefinedFunction();', 1)
    path.write_text(broken)
    dom, _ = render_in_chromium(path, tmp_path)
    page = Page(dom)
    assert "undefinedFunction" in page.body.get("data-script-error", "")
    assert "data-charts-drawn" not in page.body
