"""The gateway's ASGI app, served by uvicorn:

    python -m uvicorn --factory gateway.app:create_app \
        --host 127.0.0.1 --port 8000 --no-access-log

This module only assembles: the pooled client of the lifespan, the gateway's own
paths, and the route table that sends every other path to a service. The pieces
(gateway/__init__.py lists them all): request_log.py (id, log line), head_limits.py
(414, 431), routes.py (who answers a path), proxy.py (forwarding), health.py,
storefront.py (the web page every stage serves at `/`).

A plain ASGI callable that uses Starlette's Request and Response, not a router:
the gateway declares only a few paths of its own, and a router answers what it
cannot match (a newline in a path, a wrong method) with plain-text errors, while
every answer here must be problem+json with a request id.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway import head_limits, health, proxy, routes, storefront, upstream
from gateway.request_log import Outcome, serve_logged
from gateway.settings import GatewaySettings
from shop import openapi, telemetry
from shop.problems import Problem
from shop.telemetry.asgi import instrument
from shop.telemetry.routes import public_route
from shop.telemetry.tracing import mark_order
from shop.web import http_pool, request_id
from shop.web.allowed_methods import allow_header
from shop.web.asgi import problem_response
from shop.web.storefront import Storefront

log = logging.getLogger("gateway")
ORDERS = "/api/orders"


class Gateway:
    """Answers /healthz, /readyz, /openapi.json and the storefront (`/`, /storefront/...)
    itself and forwards the public API."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.table = settings.table()
        self.upstreams = settings.upstream_urls()
        self.openapi = json.dumps(openapi.load()).encode()
        self.pool: http_pool.Pool | None = None  # forwarded calls
        self.client: httpx.AsyncClient | None = None  # the services' /readyz
        self.storefront = Storefront(stage=settings.route_table)  # the table is the stage's
        self.local = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/openapi.json": self.openapi_document,
        }

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await serve_logged(self.answer, scope, receive, send, self.settings.access_log)
        else:  # websockets: nothing behind the gateway speaks them
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive, send) -> None:
        """One pool (and one client for /readyz) per app, made at startup and closed at
        shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = upstream.new_pool(self.settings)
                self.client = upstream.new_client(self.settings)
                log.info("gateway ready, routing to %s", self.upstreams)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.aclose()
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def answer(self, request: Request, outcome: Outcome) -> Response | None:
        """The answer to one request: refused at the edge, one of the gateway's own
        paths, 405 or 404 from the route table, or forwarded to the path's service."""
        # scope["path"], not request.url.path: a %3F in the path would split that URL.
        path, method = request.scope["path"], request.method
        try:
            head_limits.check_head(request.scope)
        except Problem as problem:  # 414 or 431, before anything is read or forwarded
            return problem_response(problem, path)
        page = storefront.respond(self.storefront, request)
        if page is not None:
            outcome.upstream = "gateway"
            return page
        local = self.local.get(path)
        if local is not None:
            outcome.upstream = "gateway"
            if method not in ("GET", "HEAD"):
                problem = Problem("method-not-allowed", f"{path} answers GET only")
                return problem_response(problem, path, {"Allow": "GET, HEAD"})
            return await local()
        resolved = routes.resolve(self.table, method, path)
        service, url = resolved.upstream, None
        if resolved.allowed:
            problem = Problem("method-not-allowed", f"{path} does not take {method}")
            return problem_response(problem, path, {"Allow": allow_header(resolved.allowed)})
        if service is not None:
            query = request.scope.get("query_string", b"")
            url = upstream.upstream_url(
                self.upstreams[service], path, head_limits.raw_path(request.scope), query
            )
        if service is None or url is None:
            return problem_response(Problem("not-found", f"no route for {method} {path}"), path)
        outcome.upstream = service
        assert self.pool is not None, "the lifespan makes the pool"
        answer = await proxy.forward(self.pool, self.settings, request, service, url, outcome)
        if answer is not None and method == "POST" and path == ORDERS:
            _mark_placed_order(answer)
        return answer

    # --- the gateway's own paths ---------------------------------------------------------

    async def healthz(self) -> Response:
        return health.healthz()

    async def readyz(self) -> Response:
        assert self.client is not None, "the lifespan makes the client"
        timeout = self.settings.readyz_timeout
        return await health.readyz(self.client, self.upstreams, timeout, request_id.current())

    async def openapi_document(self) -> Response:
        return Response(self.openapi, media_type="application/json")


def _mark_placed_order(answer: Response) -> None:
    """The id of the order POST /api/orders placed (its Location) on the gateway's span:
    the edge of the order's trace says which order it is, as every process in it does."""
    location = answer.headers.get("location", "")
    if location.startswith(ORDERS + "/"):
        mark_order(location.removeprefix(ORDERS + "/"))


def create_app(settings: GatewaySettings | None = None) -> Any:
    """The app uvicorn serves (`--factory`); settings from the environment by default.

    Wrapped in the shop's telemetry (shop/telemetry/asgi.py): a server span per request,
    continued by the client span of the forwarded call, and /metrics."""
    settings = settings or GatewaySettings()
    telemetry.setup("gateway", settings.log_level)
    return instrument(Gateway(settings), route_of=public_route)
