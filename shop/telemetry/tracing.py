"""OpenTelemetry tracing: the provider, where spans go, and the span of a saga step.

One provider per process, made by `configure_tracing` when the process starts (a
gunicorn worker after its fork). Spans are batched and written by the SDK's own
exporters: OTLP JSON lines to a file of this process (locally), OTLP over HTTP
to a collector (on the cluster), or both. W3C `traceparent` is the propagator
(OpenTelemetry's default), over HTTP and, through the broker, as the CloudEvents
distributed-tracing extension.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from shop.telemetry.settings import TelemetrySettings

TRACER = "threefold"
# On every span of an order's saga, in every stage: how `make trace ORDER=` finds its trace.
ORDER_ID = "shop.order.id"
SERVICE_NAMESPACE = "threefold"
# A WSGI request's server span in its environ, for what runs after it has ended (the
# monolith's gunicorn access line).
SERVER_SPAN = "threefold.server_span"

log = logging.getLogger(__name__)
_configured: list[str] = []  # the name this process was configured as (once per process)
_only_when_asked: list[bool] = []  # TRACE_SAMPLE_RATIO=0: trace only what a caller asks for


def configure_tracing(service: str, settings: TelemetrySettings) -> bool:
    """Install this process's tracer provider; False when tracing is off, or when spans
    would have nowhere to go (no TRACES_DIR, no collector): then no span is made at all,
    and tracing costs nothing (the API's no-op tracer).

    Once per process: a second call (tests build many apps in one process) keeps the
    first provider, since OpenTelemetry's global provider can be set only once."""
    if not (settings.tracing and settings.has_destination):
        return False
    if _configured:
        return True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({"service.name": service, "service.namespace": SERVICE_NAMESPACE})
    sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    if settings.traces_dir is not None:
        from shop.telemetry.file_export import FileExporterOnFirstUse

        settings.traces_dir.mkdir(parents=True, exist_ok=True)
        path = settings.traces_dir / f"{service}-{os.getpid()}.jsonl"
        provider.add_span_processor(BatchSpanProcessor(FileExporterOnFirstUse(path)))
    if settings.exports_to_collector:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured.append(service)
    _only_when_asked.append(settings.trace_sample_ratio == 0)
    return True


def asks_for_trace(traceparent: str | None) -> bool:
    """Whether a W3C `traceparent` header marks its trace as sampled (flags bit 0)."""
    parts = (traceparent or "").strip().split("-")
    if len(parts) < 4 or len(parts[3]) != 2:
        return False
    try:
        return int(parts[3], 16) & 1 == 1
    except ValueError:
        return False


def is_configured() -> bool:
    """Whether this process has a tracer provider (tracing on, spans going somewhere)."""
    return bool(_configured)


def only_when_asked() -> bool:
    """True with TRACE_SAMPLE_RATIO=0 (the load runs' setting): only a request whose
    caller sent a sampled traceparent is traced, and every other one skips the
    instrumentation entirely (asgi.AskedOnly, wsgi.AskedOnly). Even for spans it does
    not record, the instrumentation costs 1.1-1.3x the CPU of a short request
    (benchmarks/tracing_cost.py). Any other ratio leaves the decision to OpenTelemetry's
    sampler, per trace, so a trace is never cut in pieces."""
    return bool(_only_when_asked and _only_when_asked[0])


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


@contextmanager
def order_span(name: str, order_id: str, **attributes: Any) -> Iterator[trace.Span]:
    """A span around one step of an order's saga, carrying the order id.

    `name` is low-cardinality ("reserve stock", "charge payment"); the id goes in the
    `shop.order.id` attribute, never in the name."""
    with tracer().start_as_current_span(
        name, attributes={ORDER_ID: order_id, **attributes}
    ) as span:
        yield span


def mark_order(order_id: str) -> None:
    """Put the order id on the current span (a server span that turned out to be an order's)."""
    trace.get_current_span().set_attribute(ORDER_ID, order_id)


def current_ids() -> tuple[str, str] | None:
    """The current trace id and span id in hex, or None outside a recorded span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def traced_client(client: Any) -> Any:
    """An httpx client whose calls are client spans carrying `traceparent` to the callee
    (OpenTelemetry's httpx instrumentation); unchanged when tracing is off."""
    if _configured:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client)
    return client
