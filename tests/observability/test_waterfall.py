"""Reading spans back and drawing one order's trace (`make trace`), from files the real SDK
exporter writes: two "processes" (tracer providers) each with its own file, as a stage's."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.json.file.trace_exporter import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, set_span_in_context

from shop.telemetry.trace_files import depth_first, order_traces, orphans, read_spans
from shop.telemetry.tracing import ORDER_ID
from shop.telemetry.waterfall import label, unexplained_orphans, waterfall
from stages import trace
from stages.definitions import TRACES


def _process(folder: Path, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    path = folder / f"{service}-{os.getpid()}.jsonl"
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    return provider


def place(folder: Path, order: str, drop: str = "") -> None:
    """The spans of one order: the gateway's edge span, the orders service's server span
    under it and a saga step under that. `drop`: "edge" or "server", a span never written."""
    folder.mkdir(parents=True, exist_ok=True)
    gateway, orders = _process(folder, "gateway"), _process(folder, "orders")
    edge = gateway.get_tracer("t").start_span(
        "POST /api/orders", kind=SpanKind.SERVER, attributes={"http.status_code": 202}
    )
    server = orders.get_tracer("t").start_span(
        "POST /orders", context=set_span_in_context(edge), kind=SpanKind.SERVER
    )
    step = orders.get_tracer("t").start_span(
        "reserve stock", context=set_span_in_context(server), attributes={ORDER_ID: order}
    )
    step.end()
    if drop != "server":
        server.end()
    if drop != "edge":
        edge.end()
    gateway.shutdown()
    orders.shutdown()


@pytest.fixture
def data(tmp_path) -> Path:
    place(tmp_path / TRACES, "ord_first")
    place(tmp_path / TRACES, "ord_second")
    return tmp_path


def test_an_orders_spans_from_every_file_make_one_trace_drawn_under_their_parents(data):
    spans = read_spans(data / TRACES)
    assert len(spans) == 6
    (found,) = order_traces(spans, "ord_second")
    assert orphans(found) == []
    assert [(d, s.service, s.name) for d, s in depth_first(found)] == [
        (0, "gateway", "POST /api/orders"),
        (1, "orders", "POST /orders"),
        (2, "orders", "reserve stock"),
    ]
    text = waterfall(found)
    assert "POST /api/orders [202]" in text
    last = text.splitlines()[-1]  # no orphan, no caller
    assert re.fullmatch(r"3 spans, 2 processes \(gateway, orders\), [\d.]+ ms end to end", last)


def test_a_span_without_its_parent_is_an_orphan_and_still_drawn(tmp_path):
    place(tmp_path, "ord_x", drop="server")
    (found,) = order_traces(read_spans(tmp_path), "ord_x")
    assert [s.name for s in orphans(found)] == ["reserve stock"]
    assert [d for d, _ in depth_first(found)] == [0, 0]
    assert waterfall(found).endswith("ORPHAN SPANS")


def test_a_first_span_whose_caller_recorded_nothing_is_no_orphan_in_the_waterfall(tmp_path):
    place(tmp_path, "ord_x", drop="edge")  # as a client that only sends a traceparent
    (found,) = order_traces(read_spans(tmp_path), "ord_x")
    (first,) = orphans(found)
    assert unexplained_orphans(found) == []
    assert waterfall(found).endswith(f"called by span {first.parent_id} (not recorded)")


def test_make_trace_draws_the_latest_order_or_the_one_asked_for(data):
    code, text = trace.show("microservices", data_dir=data)
    assert code == 0 and text.startswith("order ord_second on microservices: 1 trace(s)")
    code, text = trace.show("microservices", "ord_first", data_dir=data)
    assert code == 0 and "order ord_first" in text


def test_make_trace_says_when_the_spans_may_still_be_coming(data):
    _, text = trace.show("microservices", data_dir=data)
    assert "note: the stage wrote spans" in text  # just written: the saga may go on
    old = time.time() - 60
    for path in (data / TRACES).glob("*.jsonl"):
        os.utime(path, (old, old))
    _, text = trace.show("microservices", data_dir=data)
    assert "note:" not in text


def test_make_trace_says_why_there_is_nothing_to_draw(tmp_path):
    code, text = trace.show("monolith", data_dir=tmp_path)
    assert code == 1 and "no spans in" in text and "TRACING=0" in text
    place(tmp_path / TRACES, "ord_a")
    code, text = trace.show("monolith", "ord_typo", data_dir=tmp_path)
    assert code == 1 and "no spans of order ord_typo" in text


def test_a_rows_label_shows_what_the_span_did(data):
    spans = {s.name: s for s in read_spans(data / TRACES)}
    assert label(spans["POST /api/orders"]) == "POST /api/orders [202]"
    assert label(spans["reserve stock"]) == "reserve stock"
