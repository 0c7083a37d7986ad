"""The FastAPI side of the shared request parsing and auth."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel

from shop.web.asgi import json_response, problem_response, read_body
from shop.web.input import check_admin, parse_json_body, parse_query

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> Any:
    """A dependency giving the JSON body as `model` (415 / 400 / 413 / 422 otherwise)."""

    async def dependency(request: Request) -> M:
        raw = await read_body(request, request.app.state.settings.max_body_bytes)
        return parse_json_body(request.headers.get("content-type"), raw, model)

    return Depends(dependency)


def query(model: type[M]) -> Any:
    """A dependency giving the query parameters as `model` (422 otherwise)."""

    def dependency(request: Request) -> M:
        return parse_query(request.query_params.multi_items(), model)

    return Depends(dependency)


def _require_admin(request: Request) -> None:
    check_admin(request.headers.get("authorization"), request.app.state.settings.admin_token)


Admin = Depends(_require_admin)  # use as dependencies=[Admin]: runs before the body is read


__all__ = ["Admin", "json_body", "json_response", "problem_response", "query"]
