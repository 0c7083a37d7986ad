"""Spans recorded by a tracer of a test's own, for code that calls shop.telemetry's
`tracer()` (the process's global provider, settable once, is left alone)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span

from shop.telemetry import tracing


def record_spans(monkeypatch: pytest.MonkeyPatch, also: Iterable[Any] = ()) -> InMemorySpanExporter:
    """Make `tracer()` (shop.telemetry.tracing's, and that of each module in `also` that
    imported it by name) a tracer whose finished spans the returned exporter holds."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for module in (tracing, *also):
        monkeypatch.setattr(module, "tracer", lambda: provider.get_tracer("test"))
    return exporter


def traceparent(span: Span) -> str:
    """The W3C traceparent of `span`, as OpenTelemetry's propagator writes it."""
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
