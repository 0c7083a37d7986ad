"""Building a service: the same FastAPI skeleton for each of the five contexts.

Each service gets its settings, its own database, problem+json for every
error, JSON log lines with the request and trace ids, a server span per request,
/metrics (shop/telemetry), /healthz and /readyz (its database), and
its own OpenAPI document at /openapi.json with /docs to try it (the gateway routes
only the public API there, so neither is reachable through it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from microservices.common import openapi
from microservices.common.deps import DatabaseDep
from microservices.common.request_context import RequestContext
from microservices.common.settings import ServiceSettings
from shop import telemetry
from shop.domain.errors import DomainError
from shop.persistence.database import Database, PoolSettings
from shop.problems import Problem, validation_problem
from shop.schemas import Health
from shop.telemetry.asgi import instrument
from shop.web.allowed_methods import allow_header
from shop.web.asgi import problem_response

_HTTP_PROBLEMS = {404: "not-found", 405: "method-not-allowed"}


def build_service(
    name: str,
    settings: ServiceSettings,
    routers: list[APIRouter],
    on_start: Callable[[FastAPI], None] | None = None,
    on_stop: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    telemetry.setup(name, settings.log_level)
    log = logging.getLogger(name)
    # Found now, not in the lifespan: no URL in production, or a bad pool size, stops the
    # start with one readable line (shop.startup) instead of a lifespan traceback.
    url, pool = settings.database_for(name), PoolSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database(url, pool)
        if on_start:
            on_start(app)
        log.info("%s ready", name)
        yield
        if on_stop:
            on_stop(app)
        app.state.database.dispose()

    app = FastAPI(
        title=f"threefold {name}",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        # /api/products/ is not /api/products: a 404 like on every stage, never a redirect
        # (whose Location would name this service's own address).
        redirect_slashes=False,
        # FastAPI's own OpenTelemetry support would add a second server span (and its
        # dependency/endpoint/serialization spans) inside the one every process of every
        # stage gets from shop/telemetry/asgi.py: one instrumentation, the same everywhere.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.name = name
    health = _health_router()
    app.state.routers = [*routers, health]
    # The probes' router first: a probe (every few seconds from each kubelet, and the
    # gateway's /readyz) is then matched before the context's routes are tried.
    for router in (health, *routers):
        app.include_router(router, responses=openapi.PROBLEMS)
    openapi.install(app, _routes(app))
    _take_head_where_get(app)
    _add_error_handlers(app, log)

    app.add_middleware(RequestContext, log=log, access_log=settings.access_log)
    # Outermost of the app's own middleware: the server span is current for every line
    # the request causes (the access line included), and FastAPI's router has put the
    # matched route in the scope by the time the answer starts (the span's name).
    app.add_middleware(instrument)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get("/readyz", responses={503: {"model": Health}})
    def readyz(database: DatabaseDep, response: Response) -> Health:
        try:
            database.ping()
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            response.status_code = 503
            return Health(status="unavailable", checks={"database": str(error)})
        return Health(status="ok", checks={"database": "ok"})

    return router


def _take_head_where_get(app: FastAPI) -> None:
    """A HEAD is answered as the GET of the same path, without the body (uvicorn drops it).

    By a route of its own that takes HEAD only and stays out of the OpenAPI document,
    which would otherwise list every GET twice (HTTP says a GET brings its HEAD anyway)."""
    for route in _routes(app):
        if "GET" in route.methods:
            app.add_api_route(
                route.path,
                route.endpoint,  # its answer's model comes from the return annotation
                methods=["HEAD"],
                dependencies=route.dependencies,
                include_in_schema=False,
            )


def _routes(app: FastAPI) -> list[APIRoute]:
    return [r for router in app.state.routers for r in router.routes if isinstance(r, APIRoute)]


def _allowed_methods(request: Request) -> str:
    """Every method some route takes for this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in _routes(request.app):
        if route.path_regex.match(request.scope["path"]):
            methods |= route.methods
    return allow_header(methods)


def _add_error_handlers(app: FastAPI, log: logging.Logger) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, problem: Problem):
        return problem_response(problem, request.url.path)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError):
        return problem_response(Problem.from_domain(error), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        return problem_response(validation_problem(list(error.errors())), request.url.path)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException):
        slug = _HTTP_PROBLEMS.get(error.status_code, "malformed-request")
        detail = (
            f"no route for {request.method} {request.url.path}"
            if error.status_code == 404
            else str(error.detail)
        )
        headers = {"Allow": _allowed_methods(request)} if error.status_code == 405 else None
        return problem_response(Problem(slug, detail), request.url.path, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception):
        log.exception("unhandled error")
        problem = Problem("internal-error", "something went wrong on our side")
        return problem_response(problem, request.url.path)
