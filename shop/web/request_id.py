"""The request id: made at the edge if absent, passed on every call, written in every log line."""

from __future__ import annotations

import logging
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


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record, so the format can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {service} [%(request_id)s] %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # our own line per call is enough
