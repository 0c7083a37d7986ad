"""The monolith's application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from monolith import storefront, telemetry
from monolith.blueprints import catalog, health, inventory, notifications, orders, payments
from monolith.flask_web import check_request_head, problem_response
from monolith.wiring import Wiring
from shop.domain.errors import DomainError
from shop.domain.payments import SimulatedProvider
from shop.persistence.database import Database, database_url
from shop.problems import Problem
from shop.settings import ShopSettings
from shop.telemetry import setup
from shop.telemetry.sql import trace_queries
from shop.web.allowed_methods import allow_header

log = logging.getLogger("monolith")

_HTTP_PROBLEMS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` may set DATABASE_URL and any ShopSettings field (lower case)."""
    config = dict(config or {})
    settings = ShopSettings(**{k: v for k, v in config.items() if k in ShopSettings.model_fields})
    url = config.get("DATABASE_URL") or database_url(
        None, default="monolith", production=settings.production
    )

    # Once per process: gunicorn forks its workers before any imports the app, so each
    # worker makes its own tracer provider and span file (a second call keeps the first).
    setup("monolith", os.environ.get("LOG_LEVEL", "info").upper())  # as gunicorn_conf
    app = Flask(__name__)
    telemetry.instrument(app)  # first: its span opens before any other hook answers
    # OPTIONS is answered 405 with Allow, as on every stage, not with Flask's own 200.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    database = Database(url)
    trace_queries(database)  # TRACE_SQL=1: a span per statement
    app.extensions["threefold"] = Wiring(
        settings=settings, database=database, provider=SimulatedProvider(settings.provider)
    )
    for module in (catalog, inventory, orders, payments, notifications, health):
        app.register_blueprint(module.bp)
    _register_error_handlers(app)
    storefront.register(app)  # the web page at `/`, after the request-head check
    log.info("monolith ready on %s (%s)", url.split("@")[-1], os.getpid())
    return app


def _register_error_handlers(app: Flask) -> None:
    app.before_request(check_request_head)
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(DomainError, lambda e: problem_response(Problem.from_domain(e)))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        slug = _HTTP_PROBLEMS.get(error.code or 500)
        if slug is None:
            slug = "malformed-request" if (error.code or 500) < 500 else "internal-error"
        detail = f"no route for {request.method} {request.path}" if error.code == 404 else None
        allowed = getattr(error, "valid_methods", None)  # 405 names the methods
        headers = {"Allow": allow_header(allowed)} if allowed else None
        return problem_response(Problem(slug, detail or error.description or error.name), headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return problem_response(Problem("internal-error", "something went wrong on our side"))
