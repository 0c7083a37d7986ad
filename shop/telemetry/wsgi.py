"""Telemetry around a WSGI app (the monolith's Flask app): request durations and /metrics.

    app.wsgi_app = HttpTelemetry(app.wsgi_app)

The WSGI twin of asgi.py's HttpTelemetry: every request is timed into HTTP_DURATION
labelled with its route template (routes.py, the same names as every other stage's),
GET /metrics answers Prometheus' text page and is neither traced nor counted, and a
probe's work (/readyz asks the database) is not traced. The server span itself comes
from the framework's OpenTelemetry instrumentation (monolith/telemetry.py for Flask).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from shop.telemetry import metrics
from shop.telemetry.asgi import PROBES, UNMATCHED
from shop.telemetry.routes import route_template

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def route_label(environ: Environ) -> str:
    """The route template of the request's path, or `unmatched` (one series for all 404s)."""
    return route_template(environ.get("PATH_INFO") or "/") or UNMATCHED


class HttpTelemetry:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == "/metrics" and method in ("GET", "HEAD"):
            return _metrics_page(method, start_response)
        if path in PROBES:  # a probe every few seconds would each be a trace of its own
            with suppress_instrumentation():
                return self.app(environ, start_response)
        started = time.perf_counter()
        status = "500"  # what the server sends if the app fails before answering

        def record_status(status_line: str, headers: list, *exc_info: Any) -> Any:
            nonlocal status
            status = status_line.split(" ", 1)[0]
            return start_response(status_line, headers, *exc_info)

        try:
            # A Flask answer is whole once the app returns: the time to send it is the server's.
            return self.app(environ, record_status)
        finally:
            metrics.HTTP_DURATION.labels(method, route_label(environ), status).observe(
                time.perf_counter() - started
            )


def _metrics_page(method: str, start_response: StartResponse) -> list[bytes]:
    body, content_type = metrics.page()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [b"" if method == "HEAD" else body]
