"""gunicorn's own log lines (the master's start-up and shutdown, worker boots and exits,
the access log) in the format of every other line of the shop: JSON by default.

gunicorn's Logger writes through the loggers gunicorn.error and gunicorn.access with
handlers it makes itself, with a plain-text formatter; this class keeps where they
write (errorlog and accesslog in gunicorn_conf.py) and swaps the formatter. A worker
then routes both loggers through its root JSON handler (shop.telemetry.setup).
An access line carries its request's trace id, like every line written for it.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger
from opentelemetry import trace

from shop.telemetry.logs import JsonFormatter, TextFormatter
from shop.telemetry.settings import TelemetrySettings
from shop.telemetry.tracing import SERVER_SPAN

SERVICE = "monolith"  # the process's name in logs and traces
# Where the request's server span is kept in the WSGI environ (monolith/telemetry.py).
SPAN_KEY = SERVER_SPAN  # the request's server span, set by shop/telemetry/wsgi.py


def formatter(service: str = SERVICE) -> logging.Formatter:
    """The shop's formatter for `service`, as LOG_FORMAT says (json unless text)."""
    if TelemetrySettings().log_format == "text":
        return TextFormatter(service)
    return JsonFormatter(service)


class ShopLogger(Logger):
    """gunicorn's logger writing the shop's log lines (gunicorn_conf.py: logger_class)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        line_format = formatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(line_format)

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        """The access line is written once the answer is sent, after the request's span
        ended: it is written in that span's context, so it carries the trace id too."""
        span = environ.get(SPAN_KEY)
        if span is None:
            super().access(resp, req, environ, request_time)
            return
        with trace.use_span(span, end_on_exit=False):
            super().access(resp, req, environ, request_time)
