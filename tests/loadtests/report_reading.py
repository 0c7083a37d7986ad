"""Reading the report back: its table cells, its charts, and what Locust's CSV says they must be.

The expected numbers are read from Locust's CSV files with the csv module
directly, not through loadtests.results, so the check does not trust the code
it checks.
"""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest


class Page(HTMLParser):
    """What the tests read from the page: table cells, chart lines, the chart data."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.resources: dict[tuple[str, str], str] = {}  # (stage, row) of the resources table
        self.meanings: dict[str, str] = {}  # stage -> its resources paragraph
        self._resource: tuple[str, str] | None = None
        self._meaning: str | None = None
        self.statuses: dict[str, str] = {}  # stage -> the status row's word
        self.broken_columns: set[str] = set()  # stages whose cells are greyed
        self.summary: list[tuple[str, str, str]] = []  # (level, stage, text) of each finding
        self.broken_lines: dict[str, set[str]] = {}  # chart -> stages drawn as broken
        self.offered: set[str] = set()  # charts with the offered load drawn
        self.ids: set[str] = set()
        self._item: tuple[str, str] | None = None
        self.charts: dict[str, set[str]] = {}
        self.body: dict[str, str] = {}
        self.data: dict = {}
        self._cell: tuple[str, str] | None = None
        self._chart: str | None = None
        self._in_data = False
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "body":
            self.body = a
        elif tag == "td" and "data-status" in a:
            self.statuses[a["data-stage"]] = a["data-status"]
        elif tag == "td" and "data-metric" in a:
            self._cell, self._text = (a["data-stage"], a["data-metric"]), []
            if "broken" in a.get("class", ""):
                self.broken_columns.add(a["data-stage"])
        elif tag == "td" and "data-resource" in a:
            self._resource, self._text = (a["data-stage"], a["data-resource"]), []
        elif tag == "p" and "meaning" in a.get("class", ""):
            self._meaning, self._text = a["data-stage"], []
        elif tag == "li" and "data-stage" in a:
            self._item, self._text = (a.get("class", ""), a["data-stage"]), []
        elif tag == "path" and a.get("class") == "offered" and self._chart:
            self.offered.add(self._chart)
        elif tag == "svg" and "chart" in a.get("class", ""):
            self._chart = a["id"]
            self.charts[self._chart] = set()
        elif tag == "polyline" and self._chart:
            self.charts[self._chart].add(a["data-stage"])
            if "broken" in a.get("class", ""):
                self.broken_lines.setdefault(self._chart, set()).add(a["data-stage"])
        elif tag == "script" and a.get("id") == "chart-data":
            self._in_data, self._text = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._item:
            self.summary.append((*self._item, "".join(self._text).strip()))
            self._item = None
        elif tag == "td" and self._resource:
            self.resources[self._resource] = "".join(self._text).strip()
            self._resource = None
        elif tag == "p" and self._meaning:
            self.meanings[self._meaning] = "".join(self._text).strip()
            self._meaning = None
        elif tag == "td" and self._cell:
            self.cells[self._cell] = "".join(self._text).strip()
            self._cell = None
        elif tag == "svg":
            self._chart = None
        elif tag == "script" and self._in_data:
            self.data = json.loads("".join(self._text))
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._cell or self._in_data or self._item or self._resource or self._meaning:
            self._text.append(data)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected_cells(folder: Path, stage: str) -> dict[str, float]:
    """The table's numbers, read straight from Locust's CSV (not through loadtests.results)."""
    rows = {(r["Type"], r["Name"]): r for r in csv_rows(folder / stage / "locust_stats.csv")}
    total, order = rows[("", "Aggregated")], rows[("ORDER", "order completion")]
    outcomes = {
        r["Outcome"]: int(r["Count"]) for r in csv_rows(folder / stage / "locust_orders.csv")
    }
    return {
        "requests": float(total["Request Count"]),
        "rps": float(total["Requests/s"]),
        "failures": float(total["Failure Count"]),
        "failure_pct": 100 * float(total["Failure Count"]) / float(total["Request Count"]),
        "p50": float(total["50%"]),
        "p95": float(total["95%"]),
        "p99": float(total["99%"]),
        "orders": float(order["Request Count"]),
        "order_p50": float(order["50%"]),
        "order_p95": float(order["95%"]),
        "order_p99": float(order["99%"]),
        "confirmed": outcomes.get("confirmed", 0),
        "out_of_stock": outcomes.get("out_of_stock", 0),
        "declined": outcomes.get("payment_declined", 0),
        "payment_failed": outcomes.get("payment_failed", 0),
        "order_failures": float(order["Failure Count"]),
    }


def check_numbers_match_locust(folder: Path, html: str, stages: list[str]) -> None:
    """Every table cell and every point of the rps and p95 charts is Locust's number."""
    page = Page(html)
    for stage in stages:
        for metric, value in expected_cells(folder, stage).items():
            shown = page.cells[(stage, metric)]
            digits = {"rps": 1, "failure_pct": 2}.get(metric, 0)
            assert shown == f"{value:,.{digits}f}", (stage, metric, shown, value)
        run = json.loads((folder / stage / "run.json").read_text())
        history = [
            r
            for r in csv_rows(folder / stage / "locust_stats_history.csv")
            if r["Name"] == "Aggregated"
        ]
        times = [float(r["Timestamp"]) - run["started_at"] for r in history]
        rps = page.data["chart-rps"][stage]
        assert [t for t, _ in rps] == pytest.approx(times)
        assert [v for _, v in rps] == pytest.approx([float(r["Requests/s"]) for r in history])
        p95 = [v for _, v in page.data["chart-p95"][stage]]
        # a window in which Locust saw no request (N/A, or zeros in its first second) is a gap
        assert p95 == [None if r["100%"] in ("N/A", "0") else float(r["95%"]) for r in history]
