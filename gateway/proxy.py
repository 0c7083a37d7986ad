"""One forwarded call: the request as the client sent it, the answer as the service gave it.

What changes on the way, and why:
- hop-by-hop headers are dropped both ways (they describe one connection, not the
  message), and so is Host: the service is reached at its own address;
- X-Forwarded-For gets the client's address, X-Request-ID the request's id;
- the request body is read whole but bounded (MAX_BODY_BYTES), so a client cannot
  make the gateway hold or send an unbounded body;
- the answer is read whole too, as raw bytes: a service failing half way through
  its body becomes a 502 here instead of a truncated 200 at the client, and a
  Content-Encoding passes through with the still-encoded bytes it describes.
Every failure of the call becomes a Problem: 503 when the service cannot be
reached (nothing was sent), 504 when it does not answer in time, 502 otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from shop.problems import Problem
from shop.web.input import too_large

log = logging.getLogger("gateway")

HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# Not hop-by-hop, but the gateway sets them itself.
REQUEST_OWN = frozenset(
    {b"host", b"content-length", b"expect", b"x-forwarded-for", b"x-request-id"}
)
# uvicorn adds its own Date and Server; the length is the gateway's to state.
RESPONSE_OWN = frozenset({b"content-length", b"date", b"server", b"x-request-id"})
IDEMPOTENT = frozenset({"GET", "HEAD"})  # retried once if the connection was refused
NO_BODY_STATUS = frozenset({204, 304})

# A refused body is still read and dropped, up to this much and this long, so a client
# that is still sending gets the 413 rather than a connection reset; a pause of
# DRAIN_IDLE means it is not sending (it waits for the answer), so stop there.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 1.0
DRAIN_IDLE = 0.1

Headers = list[tuple[bytes, bytes]]


class ClientGone(Exception):
    """The client closed the connection before its request body was complete."""


class TooLarge(Exception):
    """The body is over the limit; `finished` if all of it has arrived anyway."""

    def __init__(self, problem: Problem, finished: bool) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.finished = finished


class UpstreamFailure(Exception):
    """The call failed; `problem` is what the client gets."""

    def __init__(self, problem: Problem, attempts: int) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.attempts = attempts


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    url: httpx.URL
    headers: Headers
    body: bytes
    timeout: httpx.Timeout
    deadline: float  # seconds for the whole exchange, body included


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Headers
    body: bytes
    attempts: int = 1  # 2 when a refused GET was sent again


def _connection_listed(headers: Headers) -> set[bytes]:
    """Headers named in Connection are hop-by-hop too (RFC 9110, 7.6.1)."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }


def _is_hop_by_hop(name: bytes, listed: set[bytes]) -> bool:
    return name in HOP_BY_HOP or name.startswith(b"proxy-") or name in listed


def request_headers(raw: Headers, client: tuple[str, int] | None, request_id: str) -> Headers:
    """The client's headers for the service: end-to-end ones, plus forwarding and the id.

    X-Forwarded-For gets the peer's address appended, unless uvicorn already took the
    client from that header (its proxy-headers default trusts 127.0.0.1, and then
    `client` is one of its entries, port 0): the peer was a proxy it trusts, whose
    address is gone, and the chain already names the client.
    """
    listed = _connection_listed(raw)
    headers: Headers = []
    forwarded_for: list[bytes] = []
    for name, value in raw:
        lower = name.lower()
        if lower == b"x-forwarded-for":
            forwarded_for.append(value)
        elif not _is_hop_by_hop(lower, listed) and lower not in REQUEST_OWN:
            headers.append((lower, value))
    resolved_by_uvicorn = bool(forwarded_for) and client is not None and client[1] == 0
    if client and not resolved_by_uvicorn:
        forwarded_for.append(client[0].encode("latin-1"))
    if forwarded_for:
        headers.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    headers.append((b"x-request-id", request_id.encode("latin-1")))
    return headers


def _public_location(value: bytes) -> bool:
    """A path on the gateway's own host. An absolute URL from a service can only name that
    service's internal address (a redirect made behind the gateway), so it is dropped."""
    return value.startswith(b"/") and not value.startswith((b"//", b"/\\"))


def response_headers(answer: Answer, method: str) -> Headers:
    """The service's headers for the client, with a Content-Length that fits the body."""
    listed = _connection_listed(answer.headers)
    headers: Headers = []
    declared: bytes | None = None
    for name, value in answer.headers:
        lower = name.lower()
        if lower == b"content-length":
            declared = value
        if lower == b"location" and not _public_location(value):
            continue
        if not _is_hop_by_hop(lower, listed) and lower not in RESPONSE_OWN:
            headers.append((lower, value))
    if answer.status < 200 or answer.status in NO_BODY_STATUS:
        return headers
    if method == "HEAD":  # no body, but the length of the one a GET would get
        return [*headers, (b"content-length", declared)] if declared else headers
    return [*headers, (b"content-length", str(len(answer.body)).encode())]


async def read_body(receive, declared: int | None, limit: int) -> bytes:
    """The whole request body, or TooLarge: at once if the declared length is over the
    limit (nothing read), else as soon as more than `limit` bytes arrived (chunked bodies)."""
    if declared is not None and declared > limit:
        raise TooLarge(too_large(limit), finished=False)
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            raise TooLarge(too_large(limit), finished=not more)
    return bytes(body)


async def discard_rest(receive) -> None:
    """Read and drop what the client is still sending after a 413, within a budget.

    Closing a socket with unread data makes the kernel send a reset, which can destroy
    the 413 before the client reads it. A client that sent `Expect: 100-continue` is
    waiting for us instead of sending; the caller skips this for it.
    """
    left = DRAIN_BYTES
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    while left > 0 and (remaining := deadline - loop.time()) > 0:
        try:
            async with asyncio.timeout(min(DRAIN_IDLE, remaining)):
                message = await receive()
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        left -= len(message.get("body", b""))


def upstream_url(base: str, path: str, raw_path: bytes, query: bytes) -> httpx.URL | None:
    """The service's URL for this path and query, byte for byte; None if httpx would not
    carry `path` (as routed) unchanged, so the service would see another path."""
    try:
        root = httpx.URL(base)
        prefix = root.path.rstrip("/")
        target = root.raw_path.split(b"?")[0].rstrip(b"/") + raw_path
        url = root.copy_with(raw_path=target + (b"?" + query if query else b""))
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return None
    return url if url.path == prefix + path else None


async def forward(client: httpx.AsyncClient, call: Call) -> Answer:
    """Send the call and read the whole answer, or raise UpstreamFailure. Never retries a
    call that may have reached the service, so a POST is never sent twice."""
    attempts = 2 if call.method in IDEMPOTENT else 1
    for attempt in range(1, attempts + 1):
        try:
            async with asyncio.timeout(call.deadline):
                answer = await _once(client, call)
            return Answer(answer.status, answer.headers, answer.body, attempt)
        except httpx.ConnectError:
            if attempt < attempts:
                continue
            raise _failure("service-unavailable", call, "is not reachable", attempt) from None
        except httpx.ConnectTimeout:
            what = "did not accept a connection"
            raise _failure("service-unavailable", call, what, attempt) from None
        except httpx.PoolTimeout:
            what = "has too many calls in flight"
            raise _failure("service-unavailable", call, what, attempt) from None
        except (httpx.TimeoutException, TimeoutError):
            raise _failure("gateway-timeout", call, "did not answer in time", attempt) from None
        except httpx.HTTPError as error:
            what = f"failed ({type(error).__name__})"
            raise _failure("bad-gateway", call, what, attempt) from None
        except Exception as error:  # the client gets a 502, never a 500
            log.exception("unexpected failure calling %s", call.service)
            what = f"failed ({type(error).__name__})"
            raise _failure("bad-gateway", call, what, attempt) from None
    raise AssertionError("unreachable")


async def _once(client: httpx.AsyncClient, call: Call) -> Answer:
    request = client.build_request(
        call.method, call.url, headers=call.headers, content=call.body or None, timeout=call.timeout
    )
    response = await client.send(request, stream=True)
    try:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return Answer(response.status_code, list(response.headers.raw), body)


def _failure(slug: str, call: Call, what: str, attempts: int) -> UpstreamFailure:
    problem = Problem(slug, f"the {call.service} service {what}", service=call.service)
    return UpstreamFailure(problem, attempts)
