"""TRACE_SAMPLE_RATIO=0: only a request sent with a sampled traceparent is traced; every
other one skips the instrumentation (ASGI and WSGI alike), its outgoing calls included."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shop.telemetry import asgi, tracing, wsgi
from shop.telemetry.routes import public_route

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
NOT_SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.fixture
def spans(monkeypatch) -> Iterator[InMemorySpanExporter]:
    """The process's provider (set once per process) with an exporter of its own, and the
    ratio-0 setting on for the test."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_only_when_asked", [True])
    yield exporter
    exporter.shutdown()


@pytest.mark.parametrize(
    ("header", "asked"),
    [(SAMPLED, True), (NOT_SAMPLED, False), (None, False), ("junk", False), ("0-x-y-zz", False)],
)
def test_a_caller_asks_with_the_sampled_flag(header, asked):
    assert tracing.asks_for_trace(header) is asked


def _asgi_get(traceparent: str | None) -> list[bool]:
    seen: list[bool] = []

    async def inner(scope, receive, send):
        seen.append(is_instrumentation_enabled())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [(b"traceparent", traceparent.encode())] if traceparent else []
    scope = {
        "type": "http", "method": "GET", "path": "/api/products/TF-0001", "headers": headers,
        "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80), "http_version": "1.1",
        "root_path": "",
    }  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(_message):
        return None

    asyncio.run(asgi.instrument(inner, route_of=public_route)(scope, receive, send))
    return seen


def test_asgi_traces_only_what_a_caller_asks_for(spans):
    assert _asgi_get(None) == [False]  # skipped: outgoing calls untraced too
    assert _asgi_get(NOT_SAMPLED) == [False]
    assert spans.get_finished_spans() == ()
    assert _asgi_get(SAMPLED) == [True]
    (server,) = spans.get_finished_spans()
    assert server.name == "GET /api/products/{sku}"
    assert format(server.context.trace_id, "032x") == SAMPLED.split("-")[1]


def _wsgi_get(traceparent: str | None) -> None:
    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/api/products/TF-0001", "SERVER_NAME": "h",
        "SERVER_PORT": "80", "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
    }  # fmt: skip
    if traceparent:
        environ["HTTP_TRACEPARENT"] = traceparent
    body = wsgi.instrument(inner)(environ, lambda *_: None)
    list(body)
    getattr(body, "close", lambda: None)()  # as a server does: the span ends here


def test_wsgi_traces_only_what_a_caller_asks_for(spans):
    _wsgi_get(None)
    _wsgi_get(NOT_SAMPLED)
    assert spans.get_finished_spans() == ()
    _wsgi_get(SAMPLED)
    (server,) = spans.get_finished_spans()
    assert server.name == "GET /api/products/{sku}"


def test_with_any_other_ratio_the_sampler_decides(spans, monkeypatch):
    monkeypatch.setattr(tracing, "_only_when_asked", [False])
    _wsgi_get(None)  # the provider here samples everything
    assert [s.name for s in spans.get_finished_spans()] == ["GET /api/products/{sku}"]
