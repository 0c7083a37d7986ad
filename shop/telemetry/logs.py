"""Log lines as one JSON object each, carrying the trace, span and request ids.

    {"time": "2026-12-01T18:42:07.123Z", "level": "INFO", "logger": "orders.saga",
     "service": "orders", "message": "...", "trace_id": "...", "span_id": "...",
     "request_id": "..."}

so a line leads to its trace (`make trace`) and the lines of one order can be
found across processes by their trace id.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from shop.telemetry.tracing import current_ids
from shop.web import request_id

# Servers that bring their own handlers: their lines go through the root's JSON handler.
SERVER_LOGGERS = (
    "uvicorn", "uvicorn.error", "uvicorn.access",
    "hypercorn.error", "hypercorn.access",
    "gunicorn.error", "gunicorn.access",
)  # fmt: skip


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        ids = current_ids()
        if ids:
            entry["trace_id"], entry["span_id"] = ids
        rid = request_id.current()
        if rid != "-":
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """LOG_FORMAT=text: `time service [request id] LEVEL message`, for reading by eye."""

    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service} [%(request_id)s] %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.current()
        return super().format(record)


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """Every log line of this process to stderr, in `fmt`, through the root logger."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in SERVER_LOGGERS:
        server = logging.getLogger(name)
        if not server.handlers and not server.propagate:
            continue  # turned off by its server (uvicorn --no-access-log): it stays off
        server.handlers.clear()
        server.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # our own line per call is enough
