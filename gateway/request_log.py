"""Around every request: its id, a problem+json for an unhandled error, one log line.

The id is the client's X-Request-ID or a new one; it is bound for the log lines the
request causes, passed to the service (gateway/headers.py) and set on the answer,
replacing the service's copy. The line (ACCESS_LOG=1; off by default, as on every
stage) is written after the answer:

    GET /api/products -> catalog 200 3.1ms
    POST /api/orders -> orders 504 4002.3ms (the orders service did not answer in time)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shop.problems import Problem
from shop.web import request_id
from shop.web.asgi import problem_response
from shop.web.log_safe import loggable_path

log = logging.getLogger("gateway")

CLIENT_LEFT = 499  # the status logged when the client left before its answer


@dataclass
class Outcome:
    """What the log line says about one request, filled in while it is answered."""

    upstream: str = "-"  # the service or function that answered, or "gateway"
    status: int = 0  # 0 until the answer has started
    note: str = ""  # after the time: why a call failed, and whether it was sent again

    def note_call(self, detail: str, attempts: int) -> None:
        retried = f"{attempts} connection attempts" if attempts > 1 else ""
        self.note = "".join(f" ({part})" for part in (detail, retried) if part)


Answerer = Callable[[Request, Outcome], Awaitable[Response | None]]


async def serve_logged(
    answer: Answerer, scope: dict[str, Any], receive, send, access_log: bool = True
) -> None:
    """Serve one HTTP request with `answer` (None: the client left, nothing to send);
    `access_log`: write its line (ACCESS_LOG=1; an unhandled error is logged anyway)."""
    headers = dict(scope["headers"])  # last one wins, enough for one id
    sent = headers.get(request_id.HEADER.lower().encode())
    rid = request_id.bind(sent.decode("latin-1") if sent else None)
    started = time.perf_counter()
    outcome = Outcome()

    async def send_with_id(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            own = b"x-request-id"  # the service's copy is replaced by the gateway's
            kept = [h for h in message.get("headers", []) if h[0].lower() != own]
            kept.append((own, rid.encode("latin-1")))
            message = {**message, "headers": kept}
            outcome.status = message["status"]
        await send(message)

    try:
        response = await answer(Request(scope, receive), outcome)
        if response is not None:
            await response(scope, receive, send_with_id)
    except Exception:
        log.exception("unhandled error")
        if not outcome.status:
            problem = Problem("internal-error", "something went wrong in the gateway")
            await problem_response(problem, scope["path"])(scope, receive, send_with_id)
    finally:
        if access_log:
            _log_line(scope, outcome, started)


def _log_line(scope: dict[str, Any], outcome: Outcome, started: float) -> None:
    millis = (time.perf_counter() - started) * 1000
    log.info(
        "%s %s -> %s %d %.1fms%s",
        scope["method"],
        loggable_path(scope["path"]),
        outcome.upstream,
        outcome.status or CLIENT_LEFT,
        millis,
        outcome.note,
    )
