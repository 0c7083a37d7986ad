"""The FastAPI side of the shared request parsing, auth and problems."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from shop.http_input import (
    check_admin,
    check_declared_size,
    check_read_size,
    parse_json_body,
    parse_query,
    too_large,
)
from shop.problems import PROBLEM_CONTENT_TYPE, Problem

M = TypeVar("M", bound=BaseModel)


async def _bounded_body(request: Request) -> bytes:
    """Read the body, refusing (413) one over the limit, whether declared or chunked."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    check_declared_size(int(declared) if declared and declared.isdigit() else None, limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise too_large(limit)
    check_read_size(bytes(raw), limit)
    return bytes(raw)


def json_body(model: type[M]) -> Any:
    """A dependency giving the JSON body as `model` (415 / 400 / 413 / 422 otherwise)."""

    async def dependency(request: Request) -> M:
        raw = await _bounded_body(request)
        return parse_json_body(request.headers.get("content-type"), raw, model)

    return Depends(dependency)


def query(model: type[M]) -> Any:
    """A dependency giving the query parameters as `model` (422 otherwise)."""

    def dependency(request: Request) -> M:
        return parse_query(request.query_params, model)

    return Depends(dependency)


def _require_admin(request: Request) -> None:
    check_admin(request.headers.get("authorization"), request.app.state.settings.admin_token)


Admin = Depends(_require_admin)  # use as dependencies=[Admin]: runs before the body is read


def json_response(model: BaseModel, status: int = 200, headers: dict | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers, media_type="application/json")


def problem_response(
    problem: Problem, instance: str, headers: dict[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if problem.status == 413:
        headers["Connection"] = "close"
    body = json.dumps(problem.to_dict(instance=instance))
    return Response(body, problem.status, headers, media_type=PROBLEM_CONTENT_TYPE)
