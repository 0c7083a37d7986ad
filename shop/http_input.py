"""Turning the parts of an HTTP request into validated input, or a Problem.

Framework-free, so the Flask monolith, the FastAPI services and the functions
accept and refuse exactly the same requests with exactly the same answers.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shop.problems import Problem, validation_problem

M = TypeVar("M", bound=BaseModel)


def _invalid(error: ValidationError) -> Problem:
    return validation_problem(error.errors(include_url=False, include_context=False))


def parse_json_body(content_type: str | None, raw: bytes, model: type[M]) -> M:
    """The body as `model`: 415 if it is not JSON, 400 if malformed, 422 if invalid."""
    mimetype = (content_type or "").split(";")[0].strip().lower()
    if mimetype != "application/json":
        raise Problem("unsupported-media-type", "send the body as application/json")
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise Problem("malformed-request", f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise Problem("malformed-request", "the body is nested too deeply") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _invalid(error) from None


def too_large(limit: int) -> Problem:
    return Problem("payload-too-large", f"the body is over {limit} bytes")


def check_declared_size(content_length: int | None, limit: int) -> None:
    """Refuse a body by its Content-Length before reading any of it."""
    if content_length is not None and content_length > limit:
        raise too_large(limit)


def check_read_size(raw: bytes, limit: int) -> None:
    """Refuse a body that turned out longer than the limit (a chunked one, say).

    Read at most limit + 1 bytes: one byte more than allowed proves it is too long.
    """
    if len(raw) > limit:
        raise too_large(limit)


def parse_query(params: Mapping[str, str], model: type[M]) -> M:
    """Query parameters as `model`, or a 422 naming the parameter."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        raise _invalid(error) from None


def check_admin(authorization: str | None, admin_token: str) -> None:
    """401 without a bearer token, 403 with a wrong one (compared in constant time)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem("unauthorized", "this call needs Authorization: Bearer <admin token>")
    if not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise Problem("forbidden", "the bearer token is not the admin token")
