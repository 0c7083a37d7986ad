"""The CloudEvents distributed-tracing extension on what the functions publish and reply.

Every event a function makes carries the `traceparent` of the span current when it
was made (OpenTelemetry's propagator, into the event's extension attributes); a
reply answered again from the inbox carries the current delivery's instead. A
tracer of the test's own records the spans (the process's global one is left alone).
"""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from functions.commit_stock.func import new as commit_stock
from functions.runtime import saga_events
from functions.runtime.event_payloads import outcome_event
from shop.telemetry import tracing
from tests.functions.local_tracing import record_spans, traceparent
from tests.functions.test_outcome_events import _order, reserved_inventory

COMMITTED = "shop_stock_reservations_total"


@pytest.fixture
def spans(monkeypatch) -> InMemorySpanExporter:
    """Spans of a provider of the test's own, which the functions' order spans use too."""
    return record_spans(monkeypatch)


def _placed():
    return saga_events.new_event(
        saga_events.ORDER_PLACED, "ord_test", {"order_id": "ord_test"}, "test"
    )


def test_an_event_carries_the_traceparent_of_the_span_it_was_made_in(spans):
    with tracing.tracer().start_as_current_span("place order") as span:
        event = _placed()
    assert event.get_extension("traceparent") == traceparent(span)

    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(202))
    with httpx.Client(transport=transport) as client:
        saga_events.publish(client, "http://broker/", event)
    assert sent[0].headers["ce-traceparent"] == traceparent(span)


def test_an_event_made_outside_a_span_carries_no_trace_context():
    event = _placed()
    assert event.get_extension("traceparent") is None
    assert event.get_extension("tracestate") is None


def test_a_reply_carries_its_steps_span_a_replay_the_current_one_and_counts_once(
    tmp_path, monkeypatch, spans
):
    order = _order("confirmed")
    url = reserved_inventory(tmp_path, order)
    event = outcome_event(order, "test")
    monkeypatch.setenv("INVENTORY_DATABASE_URL", url)
    committed = REGISTRY.get_sample_value(COMMITTED, {"result": "committed"}) or 0
    step = commit_stock()
    step.start()
    try:
        with tracing.tracer().start_as_current_span("process shop.order.confirmed") as first:
            reply = step.once(event)
        with tracing.tracer().start_as_current_span("process shop.order.confirmed") as again:
            replayed = step.once(event)  # a redelivery: seen before, the same reply
    finally:
        step.stop()

    [committing] = [s for s in spans.get_finished_spans() if s.name == "commit stock"]
    assert committing.attributes[tracing.ORDER_ID] == order.id
    assert committing.parent.span_id == first.get_span_context().span_id
    assert reply.get_extension("traceparent") == traceparent(committing)
    assert replayed.get_id() == reply.get_id()
    assert replayed.get_extension("traceparent") == traceparent(again)
    assert [s.name for s in spans.get_finished_spans()].count("commit stock") == 1
    # Counted once, after the commit: the replay changed nothing.
    assert REGISTRY.get_sample_value(COMMITTED, {"result": "committed"}) == committed + 1
