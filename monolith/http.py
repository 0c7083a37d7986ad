"""The Flask side of the shared request parsing and problems."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Response, request
from pydantic import BaseModel

from monolith.wiring import wiring
from shop.http_input import check_admin, parse_json_body, parse_query
from shop.problems import PROBLEM_CONTENT_TYPE, Problem

M = TypeVar("M", bound=BaseModel)


def body(model: type[M]) -> M:
    return parse_json_body(request.content_type, request.get_data(cache=False), model)


def query(model: type[M]) -> M:
    return parse_query(request.args.to_dict(), model)


def json_response(model: BaseModel, status: int = 200, headers: dict | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers, mimetype="application/json")


def problem_response(problem: Problem) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    payload = json.dumps(problem.to_dict(instance=request.path))
    return Response(payload, problem.status, headers, mimetype=PROBLEM_CONTENT_TYPE)


def admin_only(view: Callable) -> Callable:
    """The view runs only for the admin token; nothing is read or written otherwise."""

    @wraps(view)
    def guarded(*args, **kwargs):
        check_admin(request.headers.get("Authorization"), wiring().settings.admin_token)
        return view(*args, **kwargs)

    return guarded
