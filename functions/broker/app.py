"""The broker's HTTP face, an ASGI app; run it with

    python -m uvicorn --factory functions.broker.app:create_app \\
        --host 127.0.0.1 --port 8090 --no-access-log

    POST /                      the ingress (the only broker, or the first of several)
    POST /<namespace>/<broker>  the ingress by name, the path Knative's broker-ingress has
    GET  /dead-letters          dead letters, oldest first; DELETE clears them
    GET  /stats                 counts and delivery lag; DELETE resets them
    GET  /triggers              the wiring the manifests came to, URLs resolved
    GET  /healthz, /readyz      alive; ready once every subscriber has a URL
    GET  /metrics               Prometheus: events, deliveries, retries, dead letters, queue
                                depth, delivery lag (metrics.py), and the HTTP requests

The ingress answers 202 as soon as the event is parsed: delivery runs after,
as it does behind Knative's ingress. When a subscriber the event goes to already
has BROKER_SUBSCRIBER_CAPACITY deliveries in flight, it answers 503
problem+json with Retry-After instead and keeps nothing: the publisher retries.
The manifests are read when the app is made, so a broken manifest stops the
process before it is ever ready.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.broker import wire_format
from functions.broker.broker import EventBroker
from functions.broker.capacity import OverCapacity
from functions.broker.manifests import load_manifests
from functions.broker.settings import BrokerSettings
from shop import telemetry
from shop.instance import this_instance
from shop.problems import Problem
from shop.telemetry.asgi import instrument
from shop.web.asgi import problem_response, read_body

log = logging.getLogger("broker")
_HTTP_PROBLEMS = {404: "not-found", 405: "method-not-allowed"}


def _broker(request: Request) -> EventBroker:
    return request.app.state.broker


async def ingress(request: Request) -> Response:
    broker = _broker(request)
    name = request.path_params.get("broker")
    target = broker.routing.find(name)
    if target is None:
        known = ", ".join(broker.routing.brokers)
        raise Problem("not-found", f"no broker named {name!r} (known: {known})")
    if not broker.accepting:
        raise Problem("service-unavailable", "the broker is stopping")
    body = await read_body(request, broker.settings.broker_max_body_bytes)
    try:
        event = wire_format.parse(dict(request.headers), body)
    except wire_format.InvalidEvent as error:
        raise Problem("malformed-request", str(error)) from None
    try:
        broker.ingest(event, target)
    except OverCapacity as full:
        retry_after = str(broker.settings.broker_retry_after)
        problem = Problem("service-unavailable", f"{full}: try again later")
        return problem_response(problem, request.url.path, {"Retry-After": retry_after})
    return Response(status_code=202)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok", "instance": this_instance()})


async def readyz(request: Request) -> Response:
    unresolved = _broker(request).unresolved()
    if unresolved:
        body = {"status": "unavailable", "unresolved": unresolved, "instance": this_instance()}
        return JSONResponse(body, 503)
    return JSONResponse({"status": "ok", "instance": this_instance()})


async def dead_letters(request: Request) -> Response:
    store = _broker(request).dead_letters
    if request.method == "DELETE":
        store.clear()
        return Response(status_code=204)
    return JSONResponse(list(store.records))


async def stats(request: Request) -> Response:
    broker = _broker(request)
    if request.method == "DELETE":
        broker.stats.reset()
        return Response(status_code=204)
    return JSONResponse(broker.stats.snapshot(broker.in_flight))


async def triggers(request: Request) -> Response:
    return JSONResponse(_broker(request).wiring())


async def _problem(request: Request, error: Exception) -> Response:
    headers = None
    if isinstance(error, HTTPException):
        slug = _HTTP_PROBLEMS.get(error.status_code)
        if slug is None:
            return Response(error.detail, error.status_code, error.headers)
        error, headers = Problem(slug, str(error.detail)), error.headers
    assert isinstance(error, Problem)
    return problem_response(error, request.url.path, headers)


def _route_of(routes: list[Route]):
    """The template of the route that takes a path (Starlette keeps it nowhere in the scope)."""

    def route_of(scope: dict) -> str | None:
        for route in routes:
            if route.path_regex.fullmatch(scope["path"]):
                return route.path
        return None

    return route_of


def create_app(settings: BrokerSettings | None = None) -> Any:
    """The broker's app, wrapped in telemetry (server spans, /metrics): an ASGI app."""
    settings = settings or BrokerSettings()
    telemetry.setup("broker", settings.log_level)
    manifests = load_manifests(settings.manifest_paths(), settings.broker_namespace)
    broker = EventBroker(manifests, settings)
    log.info(
        "read %d broker(s), %d trigger(s), %d ping source(s) from %s",
        len(manifests.brokers),
        len(manifests.triggers),
        len(manifests.ping_sources),
        ", ".join(str(f) for f in manifests.files),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await broker.start()
        log.info("broker started")
        yield
        await broker.stop()

    routes = [
        Route("/", ingress, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/dead-letters", dead_letters, methods=["GET", "DELETE"]),
        Route("/stats", stats, methods=["GET", "DELETE"]),
        Route("/triggers", triggers, methods=["GET"]),
        Route("/{namespace}/{broker}", ingress, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={Problem: _problem, HTTPException: _problem},
        lifespan=lifespan,
    )
    app.state.broker = broker
    return instrument(app, route_of=_route_of(routes))
