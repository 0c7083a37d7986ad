"""The report's waterfalls of the representative orders, from trace.json files with synthetic
spans beside the fixed Locust output (fixtures/comparison/)."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from loadtests import report, representative, results
from loadtests.representative import Representative
from shop.telemetry.trace_files import Span
from tests.loadtests.recorded_kubernetes import FIXTURES

TRACE = "a" * 32
CALLER = "c" * 16
SETTING = "TRACE_SAMPLE_RATIO=0 (only the representative order traced)"


def span(
    span_id: str, parent: str, name: str, service: str, start_ms: float, end_ms: float, **attrs
):
    base = 1_700_000_000_000_000_000
    return Span(
        TRACE, span_id, parent, name, service, "server",
        base + int(start_ms * 1e6), base + int(end_ms * 1e6), attrs,
    )  # fmt: skip


MONOLITH = [
    span("1" * 16, CALLER, "POST /api/orders", "monolith", 0, 12),
    span("2" * 16, "1" * 16, "place order", "monolith", 1, 11, **{"shop.order.id": "ord_m"}),
    span("3" * 16, "2" * 16, "reserve stock", "monolith", 2, 4),
]
MICROSERVICES = [
    span("1" * 16, CALLER, "POST /api/orders", "gateway", 0, 5),
    span("2" * 16, "1" * 16, "POST /orders", "orders", 1, 4),
    span("3" * 16, "2" * 16, "reserve stock", "orders", 4, 9),
    span("4" * 16, "3" * 16, "POST /reservations", "inventory", 5, 8),
    span("5" * 16, "2" * 16, "charge payment", "orders", 9, 40, **{"http.status_code": 201}),
]


@pytest.fixture
def comparison(tmp_path) -> Path:
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    for stage, spans in (("monolith", MONOLITH), ("microservices", MICROSERVICES)):
        found = Representative(stage, SETTING, TRACE, CALLER, f"ord_{stage}", "confirmed", spans)
        representative.write(found, folder / stage)
    why = "no span of trace x reached data/traces within 15 s"
    representative.write(
        Representative("functions", SETTING, TRACE, CALLER, reason=why), folder / "functions"
    )
    return folder


class Waterfalls(HTMLParser):
    """Each stage's waterfall rows (depth, process, label) and the summary lines."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[int, str, str]]] = {}
        self.summaries: dict[str, str] = {}
        self.fills: dict[tuple[str, str], set[str]] = {}  # (stage, process) -> bar colours
        self._stage = self._summary = None
        self._row: list | None = None
        self._texts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "waterfall" in (a.get("class") or ""):
            self._stage = a["data-stage"]
            self.rows[self._stage] = []
        elif tag == "g" and self._stage and a.get("class") == "span":
            self._row = [int(a["data-depth"]), a["data-process"]]
            self._texts = []
        elif tag == "rect" and self._row is not None:
            self.fills.setdefault((self._stage, self._row[1]), set()).add(a["fill"])
        elif tag == "p" and "trace-summary" in (a.get("class") or ""):
            self._summary = a["data-stage"]
            self.summaries[self._summary] = ""

    def handle_data(self, data):
        if self._row is not None:
            self._texts.append(data)
        if self._summary:
            self.summaries[self._summary] += data

    def handle_endtag(self, tag):
        if tag == "g" and self._row is not None:
            self.rows[self._stage].append((self._row[0], self._row[1], self._texts[1]))
            self._row = None
        elif tag == "svg":
            self._stage = None
        elif tag == "p":
            self._summary = None


def test_each_stage_gets_its_waterfall_with_rows_under_their_parents(comparison):
    page = Waterfalls(report.write(results.read_comparison(comparison), comparison).read_text())

    assert [(d, p) for d, p, _ in page.rows["monolith"]] == [
        (0, "monolith"), (1, "monolith"), (2, "monolith")
    ]  # fmt: skip
    assert [(d, p) for d, p, _ in page.rows["microservices"]] == [
        (0, "gateway"), (1, "orders"), (2, "orders"), (3, "inventory"), (2, "orders")
    ]  # fmt: skip
    # one colour per process, a different one for each process of a stage
    assert all(len(colours) == 1 for colours in page.fills.values())
    colours = {
        c for (stage, _), found in page.fills.items() if stage == "microservices" for c in found
    }
    assert len(colours) == 3
    assert "3 spans in 1 process (monolith), 12.0 ms end to end" in page.summaries["monolith"]
    assert (
        "5 spans in 3 processes (gateway, inventory, orders), 40.0 ms end to end"
        in page.summaries["microservices"]
    )
    assert "no trace: no span of trace x" in page.summaries["functions"]
    assert "functions" not in page.rows


def test_a_rows_label_carries_its_status(comparison):
    html = report.write(results.read_comparison(comparison), comparison).read_text()
    page = Waterfalls(html)
    assert "charge payment [201]" in [label for *_, label in page.rows["microservices"]]
    assert "tracing TRACE_SAMPLE_RATIO=0" not in html  # run.json of the fixtures has none
    assert "under load the stages ran with TRACE_SAMPLE_RATIO=0" in html


def test_the_terminal_gets_a_line_per_stage(comparison):
    text = report.terminal_table(results.read_comparison(comparison))
    assert "Representative order traces:" in text
    assert "  monolith: 3 spans in 1 process (monolith), 12.0 ms end to end" in text
    assert "  functions: no trace: no span of trace x" in text


def test_a_run_without_representative_orders_has_no_section(tmp_path):
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    found = results.read_comparison(folder)
    assert 'id="traces"' not in report.render(found)
    assert "Representative order traces" not in report.terminal_table(found)


def test_the_page_states_the_tracing_setting_of_the_run(comparison):
    run = comparison / "monolith" / "run.json"
    run.write_text(run.read_text().replace('"stage"', '"tracing": "TRACING=0 (off)", "stage"', 1))
    html = report.render(results.read_comparison(comparison))
    assert "tracing TRACING=0 (off)" in html
