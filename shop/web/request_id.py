"""The request id: made at the edge if absent, passed on every call, written in every log line
(shop/telemetry/logs.py puts it there)."""

from __future__ import annotations

import secrets
from contextvars import ContextVar

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("request_id", default="-")


def new_request_id() -> str:
    return secrets.token_hex(8)


def current() -> str:
    return _current.get()


def bind(request_id: str | None) -> str:
    """Use the caller's id if it sent a sane one, else a new one; return it."""
    value = (
        request_id if request_id and len(request_id) <= 64 and request_id.isprintable() else None
    )
    value = value or new_request_id()
    _current.set(value)
    return value
