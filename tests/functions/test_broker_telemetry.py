"""The broker's spans and metrics, against a real broker process and the fake subscriber.

Every event here carries a made-up `traceparent` extension (as a function's event
would): the broker's spans must be its children, each delivery attempt a span whose
own `traceparent` reached the subscriber, the waits before retries and a dead letter
spans too. /metrics must count what the broker did.
"""

from __future__ import annotations

import secrets
from collections import Counter
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shop.telemetry.trace_files import Span, by_trace, read_spans
from tests.functions.test_broker import Stage, _one, new_event, send
from tests.functions.test_broker import stage as stage  # the fixture: a broker of its own
from tests.support.waiting import eventually


def _traced_event(type_: str, **kwargs: Any):
    """An event carrying a new trace's context; (event, trace id, parent span id)."""
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    event = new_event(type_, traceparent=f"00-{trace_id}-{parent}-01", **kwargs)
    return event, trace_id, parent


def _spans(stage: Stage, trace_id: str, name: str, count: int) -> list[Span]:
    """The trace's spans called `name`, once `count` of them are written; by start time."""

    def written() -> list[Span]:
        trace = by_trace(read_spans(stage.traces_dir)).get(trace_id, [])
        found = [span for span in trace if span.name == name]
        assert len(found) == count, f"{len(found)} spans {name!r} of {count}"
        return sorted(found, key=lambda span: span.start_ns)

    return eventually(written, timeout=15, interval=0.1)


def _traceparent(trace_id: str, span: Span) -> str:
    return f"00-{trace_id}-{span.span_id}-01"


def test_attempts_and_retry_waits_are_spans_under_the_events_traceparent(stage: Stage):
    event, trace_id, parent = _traced_event("test.flaky")  # 503, 503, then 204
    send(stage.broker, event)

    [receive] = _spans(stage, trace_id, "receive test.flaky", 1)
    assert (receive.parent_id, receive.service, receive.kind) == (parent, "broker", "consumer")
    assert receive.order_id == event.get_subject()
    attempts = _spans(stage, trace_id, "send test.flaky", 3)
    assert {span.parent_id for span in attempts} == {receive.span_id}
    assert [span.attributes["broker.attempt"] for span in attempts] == [1, 2, 3]
    assert [span.attributes["http.response.status_code"] for span in attempts] == [503, 503, 204]
    assert [span.error for span in attempts] == [True, True, False]
    assert {span.attributes["broker.trigger"] for span in attempts} == {"flaky"}
    assert {span.attributes["cloudevents.event_id"] for span in attempts} == {event.get_id()}
    waits = _spans(stage, trace_id, "retry wait", 2)
    assert {span.parent_id for span in waits} == {receive.span_id}
    # Each POST carried its own attempt's traceparent: the subscriber's span is its child.
    posts = stage.received("/flaky", event.get_id())
    assert [post["traceparent"] for post in posts] == [
        _traceparent(trace_id, span) for span in attempts
    ]


def test_a_dead_letter_is_a_span_and_its_delivery_to_the_sink_its_child(stage: Stage):
    event, trace_id, parent = _traced_event("test.fail")  # 500 every time, 3 attempts
    send(stage.broker, event)

    [receive] = _spans(stage, trace_id, "receive test.fail", 1)
    assert receive.parent_id == parent
    failed = _spans(stage, trace_id, "send test.fail", 4)  # 3 attempts, then the sink
    [dead] = _spans(stage, trace_id, "dead letter test.fail", 1)
    assert dead.parent_id == receive.span_id
    assert dead.error
    assert (dead.attributes["broker.trigger"], dead.attributes["broker.attempts"]) == (
        "always-fails",
        3,
    )
    to_sink = [span for span in failed if span.parent_id == dead.span_id]
    assert [span.error for span in failed if span not in to_sink] == [True, True, True]
    assert len(to_sink) == 1 and not to_sink[0].error
    [sunk] = eventually(lambda: _one(stage.received("/ok/dls", event.get_id())))
    assert sunk["traceparent"] == _traceparent(trace_id, to_sink[0])


def test_a_reply_is_received_as_a_child_of_its_own_traceparent(stage: Stage):
    event, trace_id, _ = _traced_event("test.ask")
    send(stage.broker, event)

    [asked] = _spans(stage, trace_id, "send test.ask", 1)
    # The fake subscriber's reply carries the traceparent its POST came with: the attempt's.
    [reply] = _spans(stage, trace_id, "receive test.answer", 1)
    assert reply.parent_id == asked.span_id
    [answered] = _spans(stage, trace_id, "send test.answer", 1)
    assert answered.parent_id == reply.span_id


def test_an_event_without_a_traceparent_starts_a_trace(stage: Stage):
    event = new_event("test.fanout")
    send(stage.broker, event)

    def receive_span() -> Span:
        spans = read_spans(stage.traces_dir)
        found = [s for s in spans if s.attributes.get("cloudevents.event_id") == event.get_id()]
        receive = [s for s in found if s.name == "receive test.fanout"]
        assert receive and len(found) >= 2, found
        return receive[0]

    assert eventually(receive_span, timeout=15).parent_id == ""


def _samples(client: httpx.Client) -> Counter:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    values: Counter = Counter()
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] += sample.value
    return values


def test_metrics_count_ingests_deliveries_retries_dead_letters_and_the_lag(stage: Stage):
    before = _samples(stage.broker)
    send(stage.broker, new_event("test.flaky"))
    send(stage.broker, new_event("test.fail"))

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return _samples(stage.broker)[key] - before[key]

    def counted() -> None:
        assert moved("broker_events_ingested_total", type="test.flaky") == 1
        assert moved("broker_events_ingested_total", type="test.fail") == 1
        assert moved("broker_deliveries_total", trigger="flaky", result="delivered") == 1
        assert moved("broker_delivery_retries_total", trigger="flaky") == 2
        assert moved("broker_delivery_lag_seconds_count", trigger="flaky") == 1
        assert moved("broker_deliveries_total", trigger="always-fails", result="dead_lettered") == 1
        assert moved("broker_dead_letters_total", trigger="always-fails") == 1
        assert moved("broker_delivery_retries_total", trigger="always-fails") == 2

    eventually(counted, timeout=15)
    # Every delivery is over: none is left in the queue.
    eventually(lambda: _samples(stage.broker)[("broker_queue_depth", ())] == 0 or _no())
    requests = ("http_server_request_duration_seconds_count", "POST", "/", "202")
    assert moved(requests[0], method=requests[1], route=requests[2], status=requests[3]) >= 2


def _no() -> None:
    raise AssertionError("not yet")
