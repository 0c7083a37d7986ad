"""Answers and bounded bodies for the ASGI stages (Starlette under FastAPI or a function).

The microservices and the functions both build on Starlette's Request and
Response; these helpers keep their problem+json and body limits identical.
"""

from __future__ import annotations

import json

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from shop.problems import PROBLEM_CONTENT_TYPE, Problem
from shop.web.input import check_declared_size, check_read_size, too_large


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) one over the limit, whether declared or chunked."""
    declared = request.headers.get("content-length")
    check_declared_size(int(declared) if declared and declared.isdigit() else None, limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise too_large(limit)
    check_read_size(bytes(raw), limit)
    return bytes(raw)


def json_response(model: BaseModel, status: int = 200, headers: dict | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers, media_type="application/json")


def problem_response(
    problem: Problem, instance: str, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(problem.to_dict(instance=instance))
    return Response(body, problem.status, problem.headers(headers), media_type=PROBLEM_CONTENT_TYPE)
