"""Forwarding one client request to the service that owns its path, and its answer back.

The request as the client sent it, the answer as the service gave it, except for:
- the body, read whole but bounded (gateway/request_body.py: 413 over MAX_BODY_BYTES);
- the headers (gateway/headers.py: hop-by-hop ones dropped, forwarding and id added);
- the time it may take: CALL_TIMEOUT, or ORDER_TIMEOUT for POST /api/orders, which
  runs the whole saga inside the call;
- failures, which become problem+json (gateway/failures.py: 503, 504 or 502).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response

from gateway import headers, upstream
from gateway.failures import UpstreamFailure, order_may_exist
from gateway.request_body import ClientGone, TooLarge, discard_rest, read_body
from gateway.request_log import Outcome
from gateway.settings import GatewaySettings
from shop.web import http_pool, request_id
from shop.web.asgi import problem_response

ORDER_PLACEMENT = ("POST", "/api/orders")  # the saga runs inside this call


async def forward(
    pool: http_pool.Pool,
    settings: GatewaySettings,
    request: Request,
    service: str,
    url: httpx.URL,
    outcome: Outcome,
) -> Response | None:
    """The answer of `service` (at `url`) for the client, a problem, or None if the
    client left before its body was read."""
    path, method = request.scope["path"], request.method
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    try:
        body = await read_body(
            request.receive, int(declared) if declared and declared.isdigit() else None, limit
        )
    except ClientGone:
        return None
    except TooLarge as refused:  # 413, and close: the rest of the body is not read
        expecting = "100-continue" in request.headers.get("expect", "").lower()
        if not (refused.finished or expecting):
            await discard_rest(request.receive)
        return problem_response(refused.problem, path)  # 413: Connection: close
    seconds = settings.order_timeout if (method, path) == ORDER_PLACEMENT else None
    seconds = seconds or settings.call_timeout
    call = upstream.Call(
        service=service,
        method=method,
        url=url,
        headers=headers.request_headers(
            request.scope["headers"], request.scope.get("client"), request_id.current()
        ),
        body=body,
        timeout=seconds,  # the connect timeout is the pool's (gateway/upstream.py)
    )
    try:
        answer = await upstream.send(pool, call)
    except UpstreamFailure as failure:
        outcome.note_call(failure.problem.detail, failure.attempts)
        problem = failure.problem
        if (method, path) == ORDER_PLACEMENT and problem.status in (502, 504):
            problem = order_may_exist(problem)
        return problem_response(problem, path)
    outcome.note_call("", answer.attempts)
    response = Response(answer.body, answer.status)
    response.raw_headers = headers.response_headers(
        answer.status, answer.headers, answer.body, method
    )
    return response
