"""The client span of a call made with shop/web/http_pool.py, and the `traceparent` that
carries it to the callee: what OpenTelemetry's httpx instrumentation does for an httpx
client (tracing.traced_client), for the pool that has no instrumentation of its own.

Nothing at all when tracing is off, or when the request being served was not asked to
be traced (TRACE_SAMPLE_RATIO=0: AskedOnly suppresses instrumentation for it), so
such a call costs one check. The span carries the attributes the httpx instrumentation
gives by default: http.method, http.url, http.status_code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from shop.telemetry import tracing

Headers = list[tuple[bytes, bytes]]


class CallSpan:
    """The span of one call, while it runs: what it adds to the call's headers, and how
    its answer (or failure) is recorded."""

    def __init__(self, span: trace.Span | None) -> None:
        self.span = span

    def headers(self) -> Headers:
        """`traceparent` (and `tracestate`) naming this span, for the callee."""
        if self.span is None:
            return []
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in carrier.items()
        ]

    def answered(self, status: int) -> None:
        if self.span is not None and self.span.is_recording():
            self.span.set_attribute("http.status_code", status)
            if status >= 400:  # as the httpx instrumentation marks a client span
                self.span.set_status(trace.StatusCode.ERROR)


NO_SPAN = CallSpan(None)


@contextmanager
def client_span(method: str, url: str) -> Iterator[CallSpan]:
    """A client span named after the method around the call, current while it runs; an
    exception leaving the block is recorded on it (error.type) and raised on."""
    if not (tracing.is_configured() and is_instrumentation_enabled()):
        yield NO_SPAN
        return
    attributes = {"http.method": method, "http.url": url}
    with tracing.tracer().start_as_current_span(
        method, kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        try:
            yield CallSpan(span)
        except Exception as error:
            span.set_attribute("error.type", type(error).__qualname__)
            raise
