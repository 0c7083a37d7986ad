"""The broker's spans, joined to the trace each event carries.

An event's `traceparent` / `tracestate` extension attributes (the CloudEvents
distributed-tracing extension) are the parent of everything the broker does
with it: receiving it, each delivery attempt (an HTTP client span whose own
`traceparent` goes with the POST, so the subscriber's server span is its child),
the waits between attempts, a dead letter. OpenTelemetry's propagator reads and
writes them through dict carriers. An event without them starts a trace; a ping
is not traced (`parent` None), so the PingSource's ticks stay out of the traces.
"""

from __future__ import annotations

from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry import propagate, trace
from opentelemetry.context import Context

from shop.telemetry.tracing import ORDER_ID, tracer

TRACE_EXTENSIONS = ("traceparent", "tracestate")
# Span attributes: where a delivery went and how it ended.
TRIGGER = "broker.trigger"
SUBSCRIBER = "broker.subscriber"
ATTEMPT = "broker.attempt"
STATUS = "http.response.status_code"


def event_context(event: BaseCloudEvent) -> Context:
    """The trace context the event carries (an empty one, a new trace, if none)."""
    carrier = {
        name: str(event.get_extension(name))
        for name in TRACE_EXTENSIONS
        if event.get_extension(name) is not None
    }
    return propagate.extract(carrier, context=Context())


def event_attributes(event: BaseCloudEvent) -> dict[str, Any]:
    """OpenTelemetry's CloudEvents attributes, and the order: the saga's events name it
    as their subject."""
    attributes: dict[str, Any] = {
        "cloudevents.event_id": event.get_id(),
        "cloudevents.event_type": event.get_type(),
        "cloudevents.event_source": event.get_source(),
    }
    if event.get_subject():
        attributes["cloudevents.event_subject"] = event.get_subject()
        attributes[ORDER_ID] = event.get_subject()
    return attributes


def start_span(name: str, parent: Context, kind: trace.SpanKind, **attributes: Any) -> Any:
    """A span under `parent`, made current (a context manager)."""
    return tracer().start_as_current_span(name, context=parent, kind=kind, attributes=attributes)


def traceparent_headers() -> dict[str, str]:
    """The current span's `traceparent` (and `tracestate`) as HTTP headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: carrier[name] for name in TRACE_EXTENSIONS if name in carrier}


def here() -> Context:
    """The current context: the parent for spans made later, elsewhere (a delivery task)."""
    return trace.set_span_in_context(trace.get_current_span())
