"""One call to a service: its URL, sending it, and reading the whole answer.

The answer is read whole, as raw bytes: a service failing half way through its body
becomes a 502 instead of a truncated 200 at the client, and a Content-Encoding
passes through with the still-encoded bytes it describes. A call that may have
reached the service is never sent again, so a POST is never sent twice.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import httpx

from gateway.failures import upstream_failure
from gateway.headers import Headers
from gateway.settings import GatewaySettings
from shop.telemetry.tracing import traced_client

IDEMPOTENT = frozenset({"GET", "HEAD"})  # sent again once if the connection was refused


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


def new_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The pooled client all forwarded calls share (one per app, made at startup)."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.call_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.max_upstream_connections,
            max_keepalive_connections=settings.max_upstream_connections,
            # Shorter than the services' keep-alive (uvicorn: 5 s), so a pooled
            # connection is dropped here before the service closes it under a call.
            keepalive_expiry=2.0,
        ),
        trust_env=False,  # never send internal calls through an HTTP(S)_PROXY
        follow_redirects=False,  # a redirect is the client's to follow
    )
    # httpx's default headers would reach the services as if the client had sent
    # them; an Accept-Encoding the client never sent would even get it gzip back.
    for name in ("accept", "accept-encoding", "user-agent", "connection"):
        del client.headers[name]
    traced_client(client)
    return client


@functools.lru_cache(maxsize=64)
def _parsed(base: str) -> httpx.URL:
    """A service's base URL, parsed once: httpx's parse (with an IP check of the host)
    was a tenth of the gateway's own time per request (make profile)."""
    return httpx.URL(base)


def upstream_url(base: str, path: str, raw_path: bytes, query: bytes) -> httpx.URL | None:
    """The service's URL for this path and query, byte for byte; None if httpx would not
    carry `path` (as routed) unchanged, so the service would see another path."""
    try:
        root = _parsed(base)
        prefix = root.path.rstrip("/")
        target = root.raw_path.split(b"?")[0].rstrip(b"/") + raw_path
        url = root.copy_with(raw_path=target + (b"?" + query if query else b""))
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return None
    return url if url.path == prefix + path else None


async def send(client: httpx.AsyncClient, call: Call) -> Answer:
    """Send the call and read the whole answer, or raise UpstreamFailure (gateway/failures.py).
    Only a refused connection of a GET or HEAD is tried once more: nothing reached the
    service, and reading twice changes nothing."""
    attempts = 2 if call.method in IDEMPOTENT else 1
    for attempt in range(1, attempts + 1):
        try:
            async with asyncio.timeout(call.deadline):
                answer = await _once(client, call)
            return Answer(answer.status, answer.headers, answer.body, attempt)
        except Exception as error:  # noqa: BLE001 - every failure is a problem, never a 500
            if isinstance(error, httpx.ConnectError) and attempt < attempts:
                continue
            raise upstream_failure(call.service, error, attempt) from None
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
