"""Telemetry around a WSGI app (the monolith's Flask app): server spans, request
durations and /metrics.

    app.wsgi_app = instrument(app.wsgi_app)

The WSGI twin of asgi.py. The server span comes from OpenTelemetry's WSGI
instrumentation (it reads the caller's `traceparent`), named `METHOD /route/{template}`
with the public API's templates (routes.py), as on every stage; Flask's own rule
(`/api/products/<sku>`) would not match the others. Every request is timed into
HTTP_DURATION by the same template. GET /metrics answers Prometheus' text page and
the probes are neither traced nor, for /metrics, counted. The WSGI instrumentation,
not the Flask one: it sits in front of the app, so a request nobody asked to trace
(TRACE_SAMPLE_RATIO=0) can skip it entirely, where the Flask one's hooks always run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import trace

from shop.telemetry import metrics, tracing
from shop.telemetry.asgi import PROBES, UNMATCHED
from shop.telemetry.routes import route_template

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def route_label(environ: Environ) -> str:
    """The route template of the request's path, or `unmatched` (one series for all 404s)."""
    return route_template(environ.get("PATH_INFO") or "/") or UNMATCHED


class HttpTelemetry:
    """Times the request into HTTP_DURATION and names the current server span by route."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO") == "/metrics" and method in ("GET", "HEAD"):
            return _metrics_page(method, start_response)
        started = time.perf_counter()
        status = "500"  # what the server sends if the app fails before answering
        route: str | None = None  # found once, when the answer starts

        def record_status(status_line: str, headers: list, *exc_info: Any) -> Any:
            nonlocal status, route
            status = status_line.split(" ", 1)[0]
            route = route_label(environ)
            span = trace.get_current_span()
            if span.is_recording():
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                environ[tracing.SERVER_SPAN] = span
            return start_response(status_line, headers, *exc_info)

        try:
            # A Flask answer is whole once the app returns: the time to send it is the server's.
            return self.app(environ, record_status)
        finally:
            metrics.HTTP_DURATION.labels(method, route or route_label(environ), status).observe(
                time.perf_counter() - started
            )


class AskedOnly:
    """In front of the traced app: /metrics, the probes and (TRACE_SAMPLE_RATIO=0) a
    request nobody asked to trace go to the untraced one, instrumentation suppressed."""

    def __init__(self, traced: WsgiApp, plain: WsgiApp, suppress: Callable[[], Any]) -> None:
        self.traced = traced
        self.plain = plain
        self.suppress = suppress

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        asked = tracing.asks_for_trace(environ.get("HTTP_TRACEPARENT"))
        if path in PROBES or path == "/metrics" or (tracing.only_when_asked() and not asked):
            with self.suppress():  # a Flask answer is whole when the app returns
                return self.plain(environ, start_response)
        return self.traced(environ, start_response)


def instrument(app: WsgiApp) -> WsgiApp:
    """`app` with /metrics, request durations and (when tracing is on) server spans; with
    tracing off, OpenTelemetry's instrumentation packages are not even imported."""
    plain = HttpTelemetry(app)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return plain
    from opentelemetry.instrumentation.utils import suppress_instrumentation
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    return AskedOnly(OpenTelemetryMiddleware(plain), plain, suppress_instrumentation)


def _metrics_page(method: str, start_response: StartResponse) -> list[bytes]:
    body, content_type = metrics.page()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [b"" if method == "HEAD" else body]
