"""Observability, the same checks on every stage (issue 13, README "Observability").

- One order is one trace: its spans cover every process the stage runs for an order,
  each span's parent is in the trace (no orphan), children start after their parents.
- /metrics on every process parses with Prometheus' own parser, and the counters move
  by the expected amounts after one confirmed and one declined order.
- Every line the stage's processes wrote parses as JSON, and the lines about one
  order carry that order's trace id.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shop.domain.payments import DECLINE_TOKEN
from shop.telemetry.trace_files import (
    Span,
    by_trace,
    order_traces,
    orphans,
    read_spans,
    roots,
)
from tests.support.client import ShopClient, new_email
from tests.support.waiting import eventually

# The processes that take part in placing and finishing one confirmed order.
ORDER_PROCESSES = {
    "monolith": {"monolith"},
    "microservices": {"gateway", "orders", "catalog", "inventory", "payments", "notifications"},
    "functions": {
        "gateway", "place-order", "catalog-read", "broker", "reserve-stock", "charge-payment",
        "finalize-order", "commit-stock", "notify-customer",
    },
}  # fmt: skip
EDGE = {"monolith": "monolith", "microservices": "gateway", "functions": "gateway"}
READ_ORDER = "GET /api/orders/{order_id}"  # the root span of a request reading one order
# Which process counts what, per stage: (process, metric sample name, labels) -> expected
# change after one confirmed and one declined order.
ORDERS_PROCESS = {"monolith": "monolith", "microservices": "orders", "functions": "finalize-order"}
PAYMENTS_PROCESS = {
    "monolith": "monolith", "microservices": "payments", "functions": "charge-payment",
}  # fmt: skip
STOCK_PROCESS = {
    "monolith": {"reserved": "monolith", "released": "monolith", "committed": "monolith"},
    "microservices": {"reserved": "inventory", "released": "inventory", "committed": "inventory"},
    "functions": {
        "reserved": "reserve-stock", "released": "release-stock", "committed": "commit-stock",
    },
}  # fmt: skip


def _order(shop: ShopClient, token: str = "tok_visa") -> dict[str, Any]:
    sku = shop.new_product(stock=5)
    return shop.place_and_wait(new_email(), [(sku, 1)], token)


def _one_trace(shop: ShopClient, order_id: str, processes: set[str]) -> list[Span]:
    """The order's trace once every expected process has written its spans."""

    def complete() -> list[Span]:
        traces = order_traces(read_spans(shop.traces_dir), order_id)
        assert len(traces) == 1, f"{len(traces)} traces carry order {order_id}"
        seen = {span.service for span in traces[0]}
        assert processes <= seen, f"no spans yet from {sorted(processes - seen)}"
        # A parent ends after its children, so it may be in a later batch of the file.
        missing = [f"{s.service}: {s.name}" for s in orphans(traces[0])]
        assert not missing, f"parents not written (yet) of {missing}"
        return traces[0]

    return eventually(complete, timeout=30, interval=0.2)


def test_one_order_is_one_trace_through_every_process(shop: ShopClient) -> None:
    order = _order(shop)
    assert order["status"] == "confirmed"
    trace = _one_trace(shop, order["id"], ORDER_PROCESSES[shop.stage])

    assert orphans(trace) == [], [f"{s.service}: {s.name}" for s in orphans(trace)]
    (root,) = roots(trace)
    assert (root.service, root.kind, root.name) == (EDGE[shop.stage], "server", "POST /api/orders")
    by_id = {span.span_id: span for span in trace}
    for span in trace:
        if span.parent_id:
            parent = by_id[span.parent_id]
            # One machine, one clock: a child never starts before its parent (1 ms of slack
            # for the rounding of two processes' clocks).
            assert span.start_ns >= parent.start_ns - 1_000_000, (span.name, parent.name)
    for span in trace:  # a process instrumented twice nests a server span in its own
        if span.kind == "server" and span.parent_id:
            parent = by_id[span.parent_id]
            assert parent.service != span.service, f"{span.service}: {span.name} in {parent.name}"
    ordered = [s.service for s in trace]  # by start time
    assert ordered[0] == EDGE[shop.stage]
    # Every process that acted for the order says so on at least one of its spans.
    carrying = {span.service for span in trace if span.order_id == order["id"]}
    assert ORDER_PROCESSES[shop.stage] - {"catalog", "catalog-read"} <= carrying


def _samples(url: str) -> Counter:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    values: Counter = Counter()
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] += sample.value
    return values


def test_metrics_parse_on_every_process_and_count_orders(shop: ShopClient) -> None:
    before = {name: _samples(url) for name, url in shop.processes.items()}
    confirmed, declined = _order(shop), _order(shop, DECLINE_TOKEN)
    assert (confirmed["status"], declined["status"]) == ("confirmed", "rejected")
    stage = shop.stage

    def moved(process: str, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return _samples(shop.processes[process])[key] - before[process][key]

    def counted() -> None:
        orders = ORDERS_PROCESS[stage]
        finished = "shop_orders_finished_total"
        assert moved(orders, finished, status="confirmed", reason="") == 1
        assert moved(orders, finished, status="rejected", reason=declined["reason"]) == 1
        payments = PAYMENTS_PROCESS[stage]
        assert moved(payments, "shop_payments_total", outcome="captured") == 1
        assert moved(payments, "shop_payments_total", outcome="declined") == 1
        stock = STOCK_PROCESS[stage]
        assert moved(stock["reserved"], "shop_stock_reservations_total", result="reserved") == 2
        assert moved(stock["released"], "shop_stock_reservations_total", result="released") == 1
        assert moved(stock["committed"], "shop_stock_reservations_total", result="committed") == 1
        placed = moved(
            EDGE[stage],
            "http_server_request_duration_seconds_count",
            method="POST",
            route="/api/orders",
            status="202",
        )
        assert placed == 2

    eventually(counted, timeout=20, interval=0.2)  # the functions finish after the answer


def _log_entries(shop: ShopClient) -> list[tuple[str, dict[str, Any]]]:
    entries = []
    for line in shop.log_file.read_text().splitlines():
        process, _, text = line.partition(" | ")
        try:
            entry = json.loads(text)
        except ValueError:
            pytest.fail(f"{process} wrote a line that is not JSON: {text[:200]!r}")
        assert isinstance(entry, dict), text
        assert {"time", "level", "logger", "message"} <= entry.keys(), text
        entries.append((process, entry))
    return entries


def test_log_lines_are_json_and_an_orders_lines_share_its_trace_id(shop: ShopClient) -> None:
    order = _order(shop)
    (trace_id,) = {s.trace_id for s in _one_trace(shop, order["id"], {EDGE[shop.stage]})}

    def lines_of_order() -> list[tuple[str, dict[str, Any]]]:
        # Not the access lines of the client's reads of the order (GET /api/orders/{id}
        # while it waits): each read is a request, and a trace, of its own.
        about = [
            (p, e)
            for p, e in _log_entries(shop)
            if order["id"] in e["message"] and not e["message"].startswith(("GET ", "HEAD "))
        ]
        assert about, f"no log line names order {order['id']}"
        return about

    about = eventually(lines_of_order, timeout=20, interval=0.2)
    assert all(entry.get("trace_id") for _, entry in about), about
    assert trace_id in {entry["trace_id"] for _, entry in about}, about

    # Any other trace is that of a later request that read the order (its access line names
    # it, as ACCESS_LOG=1 asks), never a second trace of the order's own work.
    def only_reads_besides() -> None:
        traces = by_trace(read_spans(shop.traces_dir))
        for other in {entry["trace_id"] for _, entry in about} - {trace_id}:
            assert [r.name for r in roots(traces.get(other, []))] == [READ_ORDER], other

    eventually(only_reads_besides, timeout=20, interval=0.2)
