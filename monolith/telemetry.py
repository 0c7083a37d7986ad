"""The monolith's telemetry wiring: server spans, request durations, /metrics
(shop/telemetry/wsgi.py, around the Flask app's WSGI callable)."""

from __future__ import annotations

from flask import Flask

from shop.telemetry import wsgi


def instrument(app: Flask) -> None:
    """Call right after making `app`, before other hooks: the span then covers any hook
    that answers (a refused request head, the storefront page)."""
    app.wsgi_app = wsgi.instrument(app.wsgi_app)  # type: ignore[method-assign]
