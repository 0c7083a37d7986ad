"""The gateway's ASGI app, served by uvicorn:

    python -m uvicorn --factory gateway.app:create_app \
        --host 127.0.0.1 --port 8000 --no-access-log

A plain ASGI callable that uses Starlette's Request and Response, not a router:
the gateway declares only three paths of its own, and a router answers what it
cannot match (a newline in a path, a wrong method) with plain-text errors, while
every answer here must be problem+json with a request id.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway import proxy, routes
from gateway.health import readiness
from gateway.settings import GatewaySettings
from shop import openapi
from shop.problems import Problem
from shop.schemas import Health
from shop.web import request_id
from shop.web.allowed_methods import allow_header
from shop.web.asgi import json_response, problem_response
from shop.web.log_safe import loggable_path
from shop.web.request_head import check_request_head

log = logging.getLogger("gateway")

ORDER_PLACEMENT = ("POST", "/api/orders")  # the saga runs inside this call


class Gateway:
    """Answers /healthz, /readyz and /openapi.json itself and forwards the public API."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.table = settings.table()
        self.upstreams = settings.upstream_urls()
        self.openapi = json.dumps(openapi.load()).encode()
        self.client: httpx.AsyncClient | None = None
        self.local = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/openapi.json": self.openapi_document,
        }

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # websockets: nothing behind the gateway speaks them
            await send({"type": "websocket.close", "code": 1008})

    # --- lifespan: one pooled client per app ---------------------------------------------

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = self._new_client()
                log.info("gateway ready, routing to %s", self.upstreams)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _new_client(self) -> httpx.AsyncClient:
        settings = self.settings
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.call_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(
                max_connections=settings.max_upstream_connections,
                max_keepalive_connections=settings.max_upstream_connections,
                # Shorter than the services' keep-alive (uvicorn: 5 s), so a pooled
                # connection is dropped here before the service closes it under a call.
                keepalive_expiry=2.0,
            ),
            trust_env=False,  # never send internal calls through an HTTP(S)_PROXY
            follow_redirects=False,  # a redirect is the client's to follow
        )
        # httpx's default headers would reach the services as if the client had sent
        # them; an Accept-Encoding the client never sent would even get it gzip back.
        for name in ("accept", "accept-encoding", "user-agent", "connection"):
            del client.headers[name]
        return client

    # --- every request: its id, its answer, its log line ---------------------------------

    async def _http(self, scope: dict[str, Any], receive, send) -> None:
        headers = dict(scope["headers"])  # last one wins, enough for one id
        sent = headers.get(request_id.HEADER.lower().encode())
        rid = request_id.bind(sent.decode("latin-1") if sent else None)
        started = time.perf_counter()
        seen: dict[str, Any] = {"upstream": "-", "status": 0, "note": ""}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                own = b"x-request-id"  # the service's copy is replaced by the gateway's
                kept = [h for h in message.get("headers", []) if h[0].lower() != own]
                kept.append((own, rid.encode("latin-1")))
                message = {**message, "headers": kept}
                seen["status"] = message["status"]
            await send(message)

        try:
            response = await self.answer(Request(scope, receive), seen)
            if response is not None:
                await response(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if not seen["status"]:
                problem = Problem("internal-error", "something went wrong in the gateway")
                await problem_response(problem, scope["path"])(scope, receive, send_with_id)
        finally:
            millis = (time.perf_counter() - started) * 1000
            status = seen["status"] or 499  # 499: the client left before its answer
            log.info(
                "%s %s -> %s %d %.1fms%s",
                scope["method"],
                loggable_path(scope["path"]),
                seen["upstream"],
                status,
                millis,
                seen["note"],
            )

    async def answer(self, request: Request, seen: dict[str, Any]) -> Response | None:
        # scope["path"], not request.url.path: a %3F in the path would split that URL.
        path, method = request.scope["path"], request.method
        try:
            _check_head(request.scope)
        except Problem as problem:  # 414 or 431, before anything is read or forwarded
            return problem_response(problem, path)
        local = self.local.get(path)
        if local is not None:
            seen["upstream"] = "gateway"
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
            raw_path = request.scope.get("raw_path") or quote(path).encode()
            query = request.scope.get("query_string", b"")
            url = proxy.upstream_url(self.upstreams[service], path, raw_path, query)
        if service is None or url is None:
            return problem_response(Problem("not-found", f"no route for {method} {path}"), path)
        seen["upstream"] = service
        return await self.forward(request, service, url, seen)

    # --- forwarding ----------------------------------------------------------------------

    async def forward(
        self, request: Request, service: str, url: httpx.URL, seen: dict[str, Any]
    ) -> Response | None:
        settings, path, method = self.settings, request.scope["path"], request.method
        limit = settings.max_body_bytes
        declared = request.headers.get("content-length")
        try:
            body = await proxy.read_body(
                request.receive, int(declared) if declared and declared.isdigit() else None, limit
            )
        except proxy.ClientGone:
            return None
        except proxy.TooLarge as refused:  # 413, and close: the rest of the body is not read
            expecting = "100-continue" in request.headers.get("expect", "").lower()
            if not (refused.finished or expecting):
                await proxy.discard_rest(request.receive)
            return problem_response(refused.problem, path)  # 413: Connection: close
        seconds = settings.order_timeout if (method, path) == ORDER_PLACEMENT else None
        seconds = seconds or settings.call_timeout
        call = proxy.Call(
            service=service,
            method=method,
            url=url,
            headers=proxy.request_headers(
                request.scope["headers"],
                request.scope.get("client"),
                request_id.current(),
            ),
            body=body,
            timeout=httpx.Timeout(seconds, connect=settings.connect_timeout),
            deadline=settings.connect_timeout + seconds,
        )
        assert self.client is not None, "the lifespan makes the client"
        try:
            answer = await proxy.forward(self.client, call)
        except proxy.UpstreamFailure as failure:
            seen["note"] = _note(failure.problem.detail, failure.attempts)
            problem = failure.problem
            if (method, path) == ORDER_PLACEMENT and problem.status in (502, 504):
                problem = _order_may_exist(problem)
            return problem_response(problem, path)
        seen["note"] = _note("", answer.attempts)
        response = Response(answer.body, answer.status)
        response.raw_headers = proxy.response_headers(answer, method)
        return response

    # --- the gateway's own paths ---------------------------------------------------------

    async def healthz(self) -> Response:
        return json_response(Health(status="ok"))

    async def readyz(self) -> Response:
        assert self.client is not None, "the lifespan makes the client"
        health = await readiness(
            self.client, self.upstreams, self.settings.readyz_timeout, request_id.current()
        )
        return json_response(health, 200 if health.status == "ok" else 503)

    async def openapi_document(self) -> Response:
        return Response(self.openapi, media_type="application/json")


def _order_may_exist(problem: Problem) -> Problem:
    """The call reached orders and broke off: the saga may go on and place the order.
    The client cannot know; an Idempotency-Key lets it ask again and get that order."""
    detail = (
        f"{problem.detail}; the order may still be placed: a retry with the same "
        "Idempotency-Key is safe and answers that order"
    )
    return Problem(problem.type.slug, detail, **problem.extensions)


def _check_head(scope: dict[str, Any]) -> None:
    """The limits every stage puts on a request head (shop/web/request_head.py)."""
    raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
    query = scope.get("query_string", b"")
    target_length = len(raw_path) + (1 + len(query) if query else 0)
    check_request_head(scope["method"], target_length, scope["http_version"], scope["headers"])


def _note(detail: str, attempts: int) -> str:
    """What the log line adds after the time: why a call failed, and whether it was resent."""
    retried = f"{attempts} connection attempts" if attempts > 1 else ""
    return "".join(f" ({part})" for part in (detail, retried) if part)


def create_app(settings: GatewaySettings | None = None) -> Gateway:
    """The app uvicorn serves (`--factory`); settings from the environment by default."""
    settings = settings or GatewaySettings()
    request_id.configure_logging("gateway", settings.log_level)
    # httpx logs every call at INFO; the gateway writes one line per request itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return Gateway(settings)
