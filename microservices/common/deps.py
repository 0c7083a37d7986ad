"""What a route function asks for, as FastAPI dependencies: settings, database, admin, input.

Each is an `Annotated` alias (as in FastAPI's full-stack template), so a route says
`session: ReadSessionDep` and FastAPI hands it a session in a transaction. The objects a
service makes once (its settings, its database, its peers) hang on `app.state`, set by
`build_service` and the services' start hooks; the functions here (and one per peer in
the service that has it) are the only readers. Tests swap any of them with
`app.dependency_overrides[get_database] = ...`.

Body and query are parsed by the shared, framework-free `shop.web.input`, not by
FastAPI's own validation: every stage must accept and refuse exactly the same requests
with exactly the same problem+json answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import Connection

from microservices.common.settings import ServiceSettings
from shop.persistence.database import Database
from shop.web.asgi import read_body
from shop.web.input import check_admin, parse_json_body, parse_query

M = TypeVar("M", bound=BaseModel)

# Plain reads of app.state are `async def`: FastAPI runs a sync dependency in a worker
# thread, a hop that would cost more than the read itself.


async def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]


async def get_database(request: Request) -> Database:
    return request.app.state.database


# The database itself, for a route that needs more than one transaction (or none held
# across a call to another service); most routes want one of the sessions below.
DatabaseDep = Annotated[Database, Depends(get_database)]


async def reading_session(database: DatabaseDep) -> AsyncIterator[Connection]:
    """A read session, opened and closed on the event loop: opening it touches no
    database (its connection is taken at the route's first query, in the route's
    thread) and closing it only hands the connection back to the pool (a read has
    nothing to commit). As a sync generator it would cost two worker-thread hops per
    request on top of the route's own, more than the read itself."""
    session = database.reading_session()
    try:
        yield session
    finally:
        session.close()


def writing_session(database: DatabaseDep) -> Iterator[Connection]:
    with database.writing() as session:
        yield session


# scope="function": the transaction ends (commits, or rolls back) when the route function
# returns, before the answer is sent, so a failed commit is answered as the error it is.
# FastAPI solves a route's parameters in order: routes name the request's parts (path,
# query, body) first and the session last, so a refused input opens no session.
ReadSessionDep = Annotated[Connection, Depends(reading_session, scope="function")]
WriteSessionDep = Annotated[Connection, Depends(writing_session, scope="function")]


async def require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """401 without a bearer token, 403 with a wrong one."""
    check_admin(authorization, settings.admin_token)


# Use as `dependencies=[Admin]` on the route: it runs before the body is read, so a
# caller without the token learns that first.
Admin = Depends(require_admin)


def json_body(model: type[M]) -> Any:
    """A dependency giving the JSON body as `model` (415 / 400 / 413 / 422 otherwise)."""

    async def body(request: Request, settings: SettingsDep) -> M:
        raw = await read_body(request, settings.max_body_bytes)
        return parse_json_body(request.headers.get("content-type"), raw, model)

    body.body_model = model  # for the service's OpenAPI document (common/openapi.py)
    return Depends(body)


def query(model: type[M]) -> Any:
    """A dependency giving the query parameters as `model` (422 otherwise)."""

    async def params(request: Request) -> M:
        return parse_query(request.query_params.multi_items(), model)

    params.query_model = model  # for the service's OpenAPI document (common/openapi.py)
    return Depends(params)
