"""The report's projection section, built from a synthetic run folder.

The comparison fixture (one `make demo`'s Locust output) gets, per stage, a
resources.csv of known CPU per component and a cold_start.json; the section must
show the projected figures at 10x and 100x, call every one of them "projected" and
never "measured", draw the replicas over the step and idle-burst shapes, and the
page must still render in chromium without a script error.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from loadtests import projection_section, report, results
from loadtests.projection.manifests import stage_workloads
from loadtests.projection.run_figures import demand_from_run
from tests.loadtests.recorded_kubernetes import FIXTURES
from tests.loadtests.report_reading import Page
from tests.loadtests.test_report import render_in_chromium

# CPU seconds each component spends over the run (two samples 46 s apart).
CPU = {
    "monolith": {"monolith": 6.0},
    "microservices": {"gateway": 3.0, "catalog": 4.0, "inventory": 1.5, "orders": 0.8,
                      "payments": 0.3, "notifications": 0.2},
    "functions": {"gateway": 3.0, "broker": 1.0, "catalog-read": 4.0, "stock-read": 1.5,
                  "place-order": 0.6, "reserve-stock": 0.3, "charge-payment": 0.3},
}  # fmt: skip
COLD_MS = 812.0


def samples(used: dict[str, float]) -> str:
    rows = ["time,role,component,pid,cpu_seconds,rss_bytes"]
    for pid, (name, seconds) in enumerate(used.items(), start=100):
        rows.append(f"100.0,stage,{name},{pid},1.0,50000000")
        rows.append(f"146.0,stage,{name},{pid},{1.0 + seconds},60000000")
    rows.append("146.0,locust,locust,99,30.0,1000")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reports") / "20260101-120000"
    shutil.copytree(FIXTURES / "comparison", folder)
    (folder / "functions" / "replicas.csv").unlink()  # a local run: no cluster
    for stage, used in CPU.items():
        (folder / stage / "resources.csv").write_text(samples(used))
    (folder / "cold_start.json").write_text(json.dumps({"median_ms": COLD_MS, "timed_at": 0}))
    return folder


@pytest.fixture(scope="module")
def page(run_folder) -> tuple[Path, list[results.StageResult]]:
    found = results.read_comparison(run_folder)
    return report.write(found, run_folder), found


class ProjectedCells(HTMLParser):
    """The projection table's cells: (stage, factor) -> {key: text}."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, str]] = {}
        self._row: tuple[str, str] | None = None
        self._key: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-factor" in a:
            self._row = (a["data-stage"], a["data-factor"])
        elif tag == "td" and self._row and "data-projected" in a:
            self._key = a["data-projected"]
            self.rows.setdefault(self._row, {})[self._key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._key = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row and self._key:
            self.rows[self._row][self._key] += data


def test_the_section_shows_the_projection_at_10x_and_100x(page) -> None:
    path, found = page
    html = path.read_text()
    start = html.index('<section id="projection">')
    section = html[start : html.index("<h2>By entry", start)]
    assert "measured" not in section.lower()
    assert section.lower().count("projected") >= 3 + 2  # title, each stage, each chart
    cells = ProjectedCells(section).rows
    for stage in CPU:
        outlook = next(o for o in projection_section.outlooks(found) if o.stage == stage)
        assert not outlook.problem, outlook.problem
        for factor in ("10x", "100x"):
            row = cells[(stage, factor)]
            p = outlook.steady[float(factor[:-1])]
            assert row["replicas"] == str(p.replicas)
            assert row["cores"] == f"{p.requested_cores:.2f}"
            assert row["core_s_1000"] == f"{p.requested_core_seconds_per_1000_orders:,.0f}"
        # the load is the run's own rate x the factor
        demand = demand_from_run(run_folder_of(found, stage), COLD_MS)
        assert outlook.steady[10.0].load_rps == pytest.approx(10 * demand.measured_rps)
        assert outlook.steady[100.0].replicas >= outlook.steady[10.0].replicas
    assert "812 ms" in section  # the cold start, and where it came from
    assert "timed once for this run" in section


def run_folder_of(found: list[results.StageResult], stage: str) -> Path:
    return next(r.folder for r in found if r.stage == stage)


def test_the_paragraphs_are_written_from_the_numbers(page) -> None:
    _, found = page
    outlooks = {o.stage: o for o in projection_section.outlooks(found)}
    mono = outlooks["monolith"].steady
    text = projection_section.steady_paragraph(outlooks["monolith"], outlooks["monolith"])
    assert f"{mono[10.0].replicas} pods" in text and "whole shop" in text
    functions = projection_section.steady_paragraph(outlooks["functions"], outlooks["monolith"])
    cost = outlooks["functions"].steady[10.0].requested_core_seconds_per_1000_orders
    base = mono[10.0].requested_core_seconds_per_1000_orders
    assert f"{cost / base:.1f}x the monolith's" in functions
    assert "The hot workload is" in functions
    burst = projection_section.timeline_paragraph(list(outlooks.values()), "idle-burst")
    # the functions drop to zero when idle and pay the cold start given
    assert "functions dropped to zero when idle" in burst and "cold starts" in burst
    assert f"each waiting {COLD_MS:.0f} ms" in burst


def test_the_chart_series_are_the_timelines_pods(page) -> None:
    _, found = page
    outlooks = projection_section.outlooks(found)
    for shape in ("step", "idle-burst"):
        series = projection_section.timeline_series(outlooks, shape)
        assert set(series) == set(CPU)
        for o in outlooks:
            timeline = o.timelines[shape]
            points = series[o.stage].points
            assert len(points) == len(timeline.rates)
            second = len(points) // 2
            assert points[second] == (
                float(second),
                float(sum(w.replicas[second] for w in timeline.workloads)),
            )
    burst = projection_section.timeline_series(outlooks, "idle-burst")
    functions = [v for _, v in burst["functions"].points]
    # idle at the start: every workload at its minimum, every function without min-scale at 0
    least = 0
    for workload in stage_workloads("functions"):
        policy = workload.autoscaler
        least += getattr(policy, "min_scale", getattr(policy, "min_replicas", workload.replicas))
    assert functions[0] == least
    assert max(functions) > least


def test_the_page_with_the_projection_renders_without_script_errors(page, tmp_path) -> None:
    path, _ = page
    dom, log = render_in_chromium(path, tmp_path)
    doc = Page(dom)
    assert "data-script-error" not in doc.body, doc.body
    assert "Uncaught" not in log, log
    assert {"chart-projected-step", "chart-projected-idle-burst"} <= set(doc.charts)
    assert doc.charts["chart-projected-step"] == set(CPU)
    assert doc.body.get("data-charts-drawn") == str(len(doc.charts))


def test_a_stage_without_cpu_samples_says_why(run_folder, tmp_path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / "monolith" / "resources.csv").unlink()
    found = results.read_comparison(folder)
    html, _ = projection_section.html(found, {r.stage: "#000" for r in found})
    assert "no projection" in html and "resources.csv" in html
    lines = "\n".join(projection_section.terminal(found))
    assert "monolith: no projection" in lines


def test_a_cluster_run_draws_the_replicas_beside_the_projection(run_folder, tmp_path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    shutil.copy(FIXTURES / "comparison" / "functions" / "replicas.csv", folder / "functions")
    found = results.read_comparison(folder)
    html, data = projection_section.html(found, {r.stage: "#000" for r in found})
    lines = data["chart-replicas-beside-projection"]
    assert set(lines) == {"functions measured", "functions projected"}
    assert (
        lines["functions measured"]
        == next(r for r in found if r.stage == "functions").replica_series().points
    )
    assert 'id="replicas-beside-projection"' in html


def test_a_stage_that_ran_elsewhere_is_not_projected(run_folder, tmp_path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    # only Locust's row: the stage's processes were not here
    (folder / "monolith" / "resources.csv").write_text(
        "time,role,component,pid,cpu_seconds,rss_bytes\n146.0,locust,locust,9,3.0,1000\n"
    )
    found = results.read_comparison(folder)
    lines = "\n".join(projection_section.terminal(found))
    assert "monolith: no projection" in lines and "ran elsewhere" in lines
