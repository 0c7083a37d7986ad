"""The report explains itself: "what this run shows", broken and suspect stages, the offered load.

Built from the fixed Locust output of one `make demo` (fixtures/comparison/);
the expected ratios are computed here from Locust's CSV files directly, not
through the report's code. A stage is made broken or suspect by editing its
run.json or its stats as a real run would have written them.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from loadtests import report, results
from loadtests.verdict import MAX_FAILURE_SHARE
from tests.loadtests.recorded_kubernetes import FIXTURES
from tests.loadtests.report_reading import Page, csv_rows, expected_cells

STAGES = ["monolith", "microservices", "functions"]


@pytest.fixture
def comparison(tmp_path) -> Path:
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    return folder


def _built(folder: Path) -> tuple[Page, str]:
    found = results.read_comparison(folder)
    path = report.write(found, folder)
    return Page(path.read_text()), report.terminal_table(found)


def _findings(page: Page, stage: str) -> list[tuple[str, str]]:
    return [(level, text) for level, s, text in page.summary if s == stage]


def _set_failures(folder: Path, stage: str, failures: int) -> None:
    """Give the Aggregated row of a stage's locust_stats.csv this many failures."""
    path = folder / stage / "locust_stats.csv"
    rows = csv_rows(path)
    for row in rows:
        if row["Name"] == "Aggregated":
            row["Failure Count"] = str(failures)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_what_the_run_shows_is_written_from_its_numbers(comparison):
    page, terminal = _built(comparison)
    assert page.statuses == dict.fromkeys(STAGES, "ok")
    base = expected_cells(comparison, "monolith")
    for stage in STAGES[1:]:
        mine = expected_cells(comparison, stage)
        ((level, text),) = _findings(page, stage)
        assert level == "finding"
        for key in ("p50", "p95"):
            ratio = mine[key] / base[key]
            assert f"{key} {ratio:.1f}x ({mine[key]:,.0f} vs {base[key]:,.0f} ms)" in text
        order = f"order completion p50 {mine['order_p50'] / base['order_p50']:.1f}x"
        assert order in text, text
        assert "kept up" in text
        assert text in terminal  # the terminal prints the same sentences under the table
    ((_, monolith),) = _findings(page, "monolith")
    assert "against the monolith" not in monolith and "kept up" in monolith


def test_the_offered_load_is_drawn_and_a_stage_that_fell_behind_is_named(comparison):
    run_json = comparison / "functions" / "run.json"
    run = json.loads(run_json.read_text())
    run["rate"] = 2 * run["rate"]  # as if twice the load had been asked for
    run_json.write_text(json.dumps(run))
    page, _ = _built(comparison)
    assert page.offered == {"chart-rps"}
    assert page.statuses["functions"] == "behind"
    ((_, text),) = _findings(page, "functions")
    share = _carried(comparison, "functions") / _offered(comparison, "functions", run["rate"])
    assert 0.3 < share < 0.9
    assert f"carried {100 * share:.0f}% of the offered tasks: fell behind" in text, text


def _carried(folder: Path, stage: str) -> float:
    """Tasks run: one per browse, search, view (its stock call) and order, less one catalog
    page per user (its landing page)."""
    rows = {
        r["Name"]: int(r["Request Count"]) for r in csv_rows(folder / stage / "locust_stats.csv")
    }
    tasks = [
        "GET /api/products",
        "GET /api/products?q=",
        "GET /api/stock/{sku}",
        "POST /api/orders",
    ]
    return sum(rows[name] for name in tasks) - max(_users(folder, stage).values())


def _users(folder: Path, stage: str) -> dict[float, float]:
    history = csv_rows(folder / stage / "locust_stats_history.csv")
    return {
        float(r["Timestamp"]): float(r["User Count"]) for r in history if r["Name"] == "Aggregated"
    }


def _offered(folder: Path, stage: str, rate: float) -> float:
    """Users x rate over the run, each second's users held until the next row."""
    points = sorted(_users(folder, stage).items())
    return rate * sum(u * (points[i + 1][0] - t) for i, (t, u) in enumerate(points[:-1]))


def test_what_was_not_measured_is_said_instead_of_an_empty_panel(comparison):
    page, _ = _built(comparison)
    assert "not-measured" in page.ids
    html = (comparison / "report.html").read_text()
    assert "replicas and core-seconds for monolith, microservices" in html
    (comparison / "functions" / "replicas.csv").unlink()
    page, _ = _built(comparison)
    assert "chart-replicas" not in page.charts
    assert "replicas and core-seconds for any stage" in (comparison / "report.html").read_text()


def test_a_stage_whose_process_exited_under_load_is_broken_and_left_out(comparison):
    run_json = comparison / "microservices" / "run.json"
    run_json.write_text(
        json.dumps(json.loads(run_json.read_text()) | {"exited_during_run": ["catalog"]})
    )
    page, terminal = _built(comparison)
    assert page.statuses == {"monolith": "ok", "microservices": "BROKEN", "functions": "ok"}
    assert page.broken_columns == {"microservices"}
    assert all(lines == {"microservices"} for lines in page.broken_lines.values())
    ((level, text),) = _findings(page, "microservices")
    assert level == "broken" and "catalog exited while the load ran" in text
    assert page.summary[0][1] == "microservices"  # the broken stage comes first
    assert not any("microservices" in text for _, _, text in page.summary[1:])  # no ratio
    assert "status" in terminal and "BROKEN" in terminal.splitlines()[2]
    assert "!! microservices is BROKEN: catalog exited while the load ran" in terminal


def test_failures_over_the_threshold_break_a_run_and_a_few_make_it_suspect(comparison):
    requests = int(expected_cells(comparison, "functions")["requests"])
    over = int(requests * MAX_FAILURE_SHARE) + 1
    _set_failures(comparison, "functions", over)
    _set_failures(comparison, "microservices", 3)
    page, _ = _built(comparison)
    assert page.statuses == {"monolith": "ok", "microservices": "suspect", "functions": "BROKEN"}
    ((_, text),) = [f for f in _findings(page, "functions") if f[0] == "broken"]
    assert f"{100 * over / requests:.1f}% of requests failed (more than 5%)" in text
    levels = [level for level, _ in _findings(page, "microservices")]
    assert levels == ["suspect", "finding"]  # flagged, and still compared


def test_a_broken_monolith_leaves_no_baseline(comparison):
    _set_failures(comparison, "monolith", 2000)
    page, _ = _built(comparison)
    assert page.statuses["monolith"] == "BROKEN"
    assert any("No ratios" in text for _, _, text in page.summary)
    assert not any("against the monolith" in text for _, _, text in page.summary)
