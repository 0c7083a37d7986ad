"""shop/web for Flask: the shared request parsing, admin check and problems as the
blueprints use them (decorators and responses)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Response, request
from pydantic import BaseModel

from monolith.wiring import wiring
from shop.problems import PROBLEM_CONTENT_TYPE, Problem
from shop.web import request_head
from shop.web.input import (
    check_admin,
    check_declared_size,
    check_read_size,
    parse_json_body,
    parse_query,
)

M = TypeVar("M", bound=BaseModel)


# A refused body is still read (and dropped) up to this size, so the client, which may
# still be sending it, gets the 413 instead of a connection reset.
DRAIN_BYTES = 1024 * 1024


def _drain() -> None:
    left = DRAIN_BYTES
    while left > 0 and (chunk := request.stream.read(min(left, 65536))):
        left -= len(chunk)


def body(model: type[M]) -> M:
    """The JSON body as `model`; bodies over the limit are refused, chunked ones too."""
    limit = wiring().settings.max_body_bytes
    try:
        check_declared_size(request.content_length, limit)
        raw = request.stream.read(limit + 1)
        check_read_size(raw, limit)
    except Problem:
        _drain()
        raise
    return parse_json_body(request.content_type, raw, model)


def check_request_head() -> None:
    """414 or 431 for a head over the limits every stage states (shop/web/request_head.py).

    gunicorn already refuses a line, a field or a count over them; the total of all
    fields is checked here, from the environ (repeated fields arrive joined by commas).
    """
    environ = request.environ
    fields = [(name[5:], value) for name, value in environ.items() if name.startswith("HTTP_")]
    fields += [
        (name, environ[name]) for name in ("CONTENT_TYPE", "CONTENT_LENGTH") if name in environ
    ]
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    version = environ.get("SERVER_PROTOCOL", "HTTP/1.1").removeprefix("HTTP/")
    request_head.check_request_head(request.method, len(target), version, fields)


def query(model: type[M]) -> M:
    return parse_query(request.args.items(multi=True), model)


def json_response(model: BaseModel, status: int = 200, headers: dict | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers, mimetype="application/json")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    payload = json.dumps(problem.to_dict(instance=request.path))
    return Response(
        payload, problem.status, problem.headers(headers), mimetype=PROBLEM_CONTENT_TYPE
    )


def admin_only(view: Callable) -> Callable:
    """The view runs only for the admin token; nothing is read or written otherwise."""

    @wraps(view)
    def guarded(*args, **kwargs):
        check_admin(request.headers.get("Authorization"), wiring().settings.admin_token)
        return view(*args, **kwargs)

    return guarded
