"""The monolith's telemetry wiring: Flask server spans, request durations, /metrics.

Server spans come from OpenTelemetry's Flask instrumentation (it reads the caller's
`traceparent`), named `METHOD /api/...{template}` with the public API's route
templates (shop.telemetry.routes), so a span and a metric label name a route as on
every other stage; Flask's own rule (`/api/products/<sku>`) would not. The probes
and /metrics are not traced (shop/telemetry/wsgi.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from opentelemetry import trace

from monolith.gunicorn_logging import SPAN_KEY
from shop.telemetry.asgi import UNTRACED
from shop.telemetry.wsgi import HttpTelemetry, route_label


def _name_span(span: Any, _status: str, _headers: list) -> None:
    """Name the server span after the route template, once the answer is known."""
    if span is not None and span.is_recording():
        route = route_label(request.environ)
        span.update_name(f"{request.method} {route}")
        span.set_attribute("http.route", route)
        request.environ[SPAN_KEY] = span  # for the access line, written after it ends


def instrument(app: Flask) -> None:
    """Call right after making `app`, before other hooks: the span then starts before
    any of them answers (a refused request head, the storefront page)."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor.instrument_app(
            app,
            response_hook=_name_span,
            excluded_urls=UNTRACED,
            enable_commenter=False,  # no SQL comments: they would make each statement unique
        )
    app.wsgi_app = HttpTelemetry(app.wsgi_app)  # type: ignore[method-assign]
