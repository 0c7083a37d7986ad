"""Telemetry around an ASGI app: a server span per request, its duration, and /metrics.

    app = instrument(app)                  # FastAPI: routes named from scope["route"]
    app = instrument(app, route_of=...)    # any other ASGI app names its own routes

The server span comes from OpenTelemetry's ASGI instrumentation (it reads the
caller's `traceparent`); it is named `METHOD route` once the route is known, as
OpenTelemetry's HTTP conventions ask (never the raw path: ids would make every
name unique). GET /metrics answers Prometheus' text page and is neither traced
nor counted; the probes are not traced either.

Without a tracer provider (spans have nowhere to go: tracing.configure_tracing) there
is nothing to suppress or trace, so neither OpenTelemetry's instrumentation package
nor its ASGI middleware is imported: a function's cold start and every request skip them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace

from shop.telemetry import metrics, tracing

UNMATCHED = "unmatched"  # the route label of a request no route took (404s): one series
PROBES = frozenset({"/healthz", "/readyz", "/health/liveness", "/health/readiness"})
UNTRACED = "/healthz$,/readyz$,/metrics$,/health/liveness$,/health/readiness$"  # regexes on the URL
Scope = dict[str, Any]
# OpenTelemetry's suppress_instrumentation, where tracing is on; None where it is off.
Suppress = Callable[[], AbstractContextManager[Any]] | None


def fastapi_route(scope: Scope) -> str | None:
    """The route template Starlette's router matched, e.g. /api/products/{sku}."""
    route = scope.get("route")
    return getattr(route, "path", None)


class HttpTelemetry:
    """Times every HTTP request into HTTP_DURATION by route, and answers GET /metrics."""

    def __init__(
        self,
        app: Any,
        route_of: Callable[[Scope], str | None] = fastapi_route,
        names_spans: bool = True,
        suppress: Suppress = None,
    ):
        self.app = app
        self.route_of = route_of
        self.names_spans = names_spans
        self.suppress = suppress

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics" and scope["method"] in ("GET", "HEAD"):
            await _metrics_page(scope, send)
            return
        if scope["path"] in PROBES:
            if self.suppress is None:
                await self.app(scope, receive, send)
                return
            with self.suppress():  # a probe's calls (a gateway's /readyz asks every
                await self.app(scope, receive, send)  # service) would each be a trace
            return
        started = time.perf_counter()
        status = 500  # what the server sends if the app fails before answering
        route = UNMATCHED

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status, route
            if message["type"] == "http.response.start":
                status = message["status"]
                # Named now: OpenTelemetry's middleware ends the span with the last body.
                route = self.route_of(scope) or UNMATCHED
                span = trace.get_current_span()
                if self.names_spans and span.is_recording():
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.route", route)
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics.HTTP_DURATION.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


async def _metrics_page(scope: Scope, send: Any) -> None:
    body, content_type = metrics.page()
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


class AskedOnly:
    """In front of the traced app: a request nobody asked to trace (tracing.traces_request)
    goes to the untraced one, with instrumentation suppressed for its outgoing calls too."""

    def __init__(self, traced: Any, plain: Any, suppress: Callable[[], Any]) -> None:
        self.traced = traced
        self.plain = plain
        self.suppress = suppress

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not tracing.asks_for_trace(_header(scope, b"traceparent")):
            with self.suppress():
                await self.plain(scope, receive, send)
            return
        await self.traced(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    return scope.get("method", "HTTP"), {}


def instrument(
    app: Any,
    route_of: Callable[[Scope], str | None] = fastapi_route,
    names_spans: bool = True,
    traced: bool = True,
) -> Any:
    """`app` with /metrics, request durations and (when tracing is on) server spans.

    names_spans=False: the app names its server spans itself (an event function names
    it after the event). traced=False: no server spans (requests that are mostly
    idle, such as a ping's, where the app starts a trace only when it has work)."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return HttpTelemetry(app, route_of, names_spans)
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    plain = HttpTelemetry(app, route_of, names_spans, suppress_instrumentation)
    if not traced:
        return plain
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    with_spans = OpenTelemetryMiddleware(
        plain,
        excluded_urls=UNTRACED,
        exclude_spans=["receive", "send"],
        default_span_details=_method_only,  # never the raw path: ids in names
    )
    if tracing.only_when_asked():
        return AskedOnly(with_spans, plain, suppress_instrumentation)
    return with_spans
