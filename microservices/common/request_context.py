"""Around every request of a service: its id, set on the answer, and the access log line.

A pure ASGI middleware, not `@app.middleware("http")`: Starlette's BaseHTTPMiddleware
runs the app in a task of its own and streams the answer through a memory channel,
which cost more than a /healthz itself (benchmarks/service_overhead.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from shop.web import request_id
from shop.web.log_safe import loggable_path

_HEADER = request_id.HEADER.lower().encode()


class RequestContext:
    """Binds the request id (the caller's X-Request-ID or a new one) for the log lines the
    request causes, sets it on the answer, and with `access_log` writes one line per request:

        GET /api/products/TF-0001 200 1.2ms
    """

    def __init__(self, app: Any, log: logging.Logger, access_log: bool) -> None:
        self.app = app
        self.log = log
        self.access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:  # the first one, as Starlette's headers.get
            if name == _HEADER:
                sent = value.decode("latin-1")
                break
        rid = request_id.bind(sent)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [h for h in message.get("headers", []) if h[0].lower() != _HEADER]
                kept.append((_HEADER, rid.encode("latin-1")))
                message = {**message, "headers": kept}
            await send(message)

        await self.app(scope, receive, send_with_id)
        if self.access_log:
            millis = (time.perf_counter() - started) * 1000
            path = loggable_path(scope["path"])
            self.log.info("%s %s %s %.1fms", scope["method"], path, status, millis)
