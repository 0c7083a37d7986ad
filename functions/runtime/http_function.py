"""An HTTP function: a few routes of the public API, answered with the shared rules.

Knative's HTTP middleware (func-python) hands `handle` every request but its own
/health/liveness and /health/readiness; the function answers /healthz and
/readyz too, like every process of the shop. Database work runs in a thread, so
the event loop keeps serving while a query waits.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from functions.runtime.health import probe_answer, readiness
from functions.runtime.settings import FunctionSettings
from shop.domain.errors import DomainError
from shop.persistence.database import Database
from shop.problems import Problem
from shop.schemas import Health
from shop.web.allowed_methods import allow_header
from shop.web.asgi import json_response, problem_response, read_body
from shop.web.input import check_admin, parse_json_body, parse_query

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[Response]]


class HttpFunction:
    """Subclasses set `name`, `contexts` (databases it uses) and `routes`, and add handlers."""

    name = "function"
    contexts: tuple[str, ...] = ()
    routes: list[tuple[str, str, str]] = []  # (method, path regex, handler method name)

    def start(self, _environ: dict[str, str] | None = None) -> None:
        self.settings = FunctionSettings()  # logging: shop.telemetry.setup, in serve()
        self.log = logging.getLogger(self.name)
        self.databases = {c: Database(self.settings.database(c)) for c in self.contexts}
        self._routes = [(m, re.compile(p), getattr(self, h)) for m, p, h in self.routes]

    def stop(self) -> None:
        for database in self.databases.values():
            database.dispose()

    def alive(self) -> bool:
        return True

    def ready(self) -> tuple[bool, str]:
        return probe_answer(readiness(self.databases.values()))

    async def handle(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        # scope["path"], not request.url.path: that URL is re-parsed, which drops a tab, CR
        # or LF, so /api/products/<sku>%0A would act on <sku> (the others answer 404).
        path = request.scope["path"]
        if path == "/healthz":
            return json_response(Health(status="ok", checks={"database": "ok"}))
        if path == "/readyz":
            health = readiness(self.databases.values())
            return json_response(health, 200 if health.status == "ok" else 503)
        handler, params, allowed = self._route(request.method, path)
        if handler is None and allowed:
            problem = Problem("method-not-allowed", f"{path} does not take {request.method}")
            return problem_response(problem, path, {"Allow": allow_header(allowed)})
        try:
            if handler is None:
                raise Problem("not-found", f"no route for {request.method} {path}")
            return await handler(request, **params)
        except Problem as problem:
            return problem_response(problem, path)
        except DomainError as error:
            return problem_response(Problem.from_domain(error), path)
        except Exception:
            self.log.exception("unhandled error")
            return problem_response(Problem("internal-error", "something went wrong"), path)

    def route_template(self, path: str) -> str | None:
        """The path as its route label when a route without parameters takes it (an
        internal path, which the public API's templates do not know)."""
        for _method, pattern, _handler in self._routes:
            if not pattern.groups and pattern.fullmatch(path):
                return path
        return None

    def _route(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], set[str]]:
        """The handler and path parameters, or None and the methods the path takes."""
        allowed = set()
        method = "GET" if method == "HEAD" else method
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match:
                if route_method == method:
                    return handler, match.groupdict(), set()
                allowed.add(route_method)
        return None, {}, allowed

    # --- for the handlers ------------------------------------------------------------------

    async def body(self, request: Request, model: type[M]) -> M:
        raw = await read_body(request, self.settings.max_body_bytes)
        return parse_json_body(request.headers.get("content-type"), raw, model)

    def query(self, request: Request, model: type[M]) -> M:
        return parse_query(request.query_params.multi_items(), model)

    def admin(self, request: Request) -> None:
        check_admin(request.headers.get("authorization"), self.settings.admin_token)

    async def run(self, work: Callable, *args):
        """Run blocking work (the database) in a thread."""
        return await asyncio.to_thread(work, *args)
