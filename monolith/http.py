"""Request in, problem+json out: the Flask side of the shared schemas and problems."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Response, request
from pydantic import BaseModel, ValidationError

from monolith.wiring import wiring
from shop.problems import PROBLEM_CONTENT_TYPE, Problem, validation_problem

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M]) -> M:
    """The JSON body as `model`, or a 415 / 400 / 422 problem."""
    if request.mimetype != "application/json":
        raise Problem("unsupported-media-type", "send the body as application/json")
    try:
        data = json.loads(request.get_data(cache=False) or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem("malformed-request", f"the body is not valid JSON: {error}") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_problem(error.errors(include_url=False, include_context=False)) from None


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise validation_problem(error.errors(include_url=False, include_context=False)) from None


def json_response(model: BaseModel, status: int = 200, headers: dict | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers, mimetype="application/json")


def problem_response(problem: Problem) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    body = json.dumps(problem.to_dict(instance=request.path))
    return Response(body, problem.status, headers, mimetype=PROBLEM_CONTENT_TYPE)


def admin_only(view: Callable) -> Callable:
    """401 without a bearer token, 403 with a wrong one; the view never runs then."""

    @wraps(view)
    def guarded(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem("unauthorized", "this call needs Authorization: Bearer <admin token>")
        expected = wiring().settings.admin_token
        if not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise Problem("forbidden", "the bearer token is not the admin token")
        return view(*args, **kwargs)

    return guarded
