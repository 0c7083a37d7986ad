"""Turning the parts of an HTTP request into validated input, or a Problem.

Framework-free, so the Flask monolith, the FastAPI services and the functions
accept and refuse exactly the same requests with exactly the same answers.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any, TypeVar

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
        # JSON is UTF-8 (RFC 8259): decoded as such, never guessed (json.loads would take
        # UTF-16 and a byte order mark), and one value per key.
        data = json.loads((raw or b"").decode("utf-8"), object_pairs_hook=_without_duplicates)
    except UnicodeDecodeError:
        raise Problem("malformed-request", "the body is not UTF-8") from None
    except _DuplicateKey as duplicate:
        raise Problem("malformed-request", f"the key {duplicate} appears twice") from None
    except ValueError as error:
        raise Problem("malformed-request", f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise Problem("malformed-request", "the body is nested too deeply") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _invalid(error) from None


class _DuplicateKey(Exception):
    """A JSON object names one key twice: parsers disagree on which value counts."""


def _without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(json.dumps(key))
        found[key] = value
    return found


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


def parse_query(pairs: Iterable[tuple[str, str]], model: type[M]) -> M:
    """Query parameters (every name=value pair, in order) as `model`, or a 422 naming the
    parameter. Each of the model's parameters takes one value: frameworks disagree on which
    of two would count, so a repeated one is refused; unknown ones are ignored."""
    params: dict[str, str] = {}
    repeated: list[str] = []
    for name, value in pairs:
        if name in params and name in model.model_fields and name not in repeated:
            repeated.append(name)
        params.setdefault(name, value)
    if repeated:
        raise validation_problem(
            [{"loc": [name], "msg": "given more than once"} for name in repeated]
        )
    try:
        return model.model_validate(params)
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
