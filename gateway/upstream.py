"""One call to a service: its URL, sending it, and reading the whole answer.

The answer is read whole, as raw bytes: a service failing half way through its body
becomes a 502 instead of a truncated 200 at the client, and a Content-Encoding
passes through with the still-encoded bytes it describes. A call that may have
reached the service is never sent again, so a POST is never sent twice.

Calls go through shop/web/http_pool.py, a keep-alive HTTP/1.1 pool on asyncio streams:
httpx spent 0.6 ms of CPU per forwarded read in its own code, more than half of the
gateway's time (make profile STAGE=microservices). httpx still parses and checks the
URL (upstream_url) and asks the services' /readyz (gateway/health.py, rarely).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import httpx

from gateway.failures import upstream_failure
from gateway.headers import Headers
from gateway.settings import GatewaySettings
from shop.telemetry.client_spans import client_span
from shop.telemetry.tracing import traced_client
from shop.web import http_pool

IDEMPOTENT = frozenset({"GET", "HEAD"})  # sent again once if the connection was refused


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    url: httpx.URL
    headers: Headers
    body: bytes
    timeout: float  # seconds for the exchange once connected (and for a free connection)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Headers
    body: bytes
    attempts: int = 1  # 2 when a refused GET was sent again


def new_pool(settings: GatewaySettings) -> http_pool.Pool:
    """The pool all forwarded calls share (one per app, made at startup)."""
    return http_pool.Pool(
        max_connections=settings.max_upstream_connections,
        # Shorter than the services' keep-alive (uvicorn: 5 s), so a pooled
        # connection is dropped here before the service closes it under a call.
        keepalive_expiry=2.0,
        connect_timeout=settings.connect_timeout,
    )


def new_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The client that asks the services' /readyz (gateway/health.py)."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.call_timeout, connect=settings.connect_timeout),
        trust_env=False,  # never send internal calls through an HTTP(S)_PROXY
        follow_redirects=False,
    )
    return traced_client(client)


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


@functools.lru_cache(maxsize=64)
def _origin(scheme: str, host: str, port: int | None, netloc: bytes) -> http_pool.Origin:
    if scheme != "http":  # services are reached over the stage's own network
        raise ValueError(f"a service URL must be http://, not {scheme}://")
    return http_pool.Origin(host, port or 80, netloc)


async def send(pool: http_pool.Pool, call: Call) -> Answer:
    """Send the call and read the whole answer, or raise UpstreamFailure (gateway/failures.py).
    Only a refused connection of a GET or HEAD is tried once more: nothing reached the
    service, and reading twice changes nothing."""
    attempts = 2 if call.method in IDEMPOTENT else 1
    for attempt in range(1, attempts + 1):
        try:
            answer = await _once(pool, call)
            return Answer(answer.status, answer.headers, answer.body, attempt)
        except Exception as error:  # noqa: BLE001 - every failure is a problem, never a 500
            if isinstance(error, http_pool.ConnectFailed) and attempt < attempts:
                continue
            raise upstream_failure(call.service, error, attempt) from None
    raise AssertionError("unreachable")


async def _once(pool: http_pool.Pool, call: Call) -> Answer:
    url = call.url
    origin = _origin(url.scheme, url.host, url.port, url.netloc)
    with client_span(call.method, str(url)) as span:
        reply = await pool.request(
            origin, call.method, url.raw_path, [*call.headers, *span.headers()], call.body,
            call.timeout,
        )  # fmt: skip
        span.answered(reply.status)
    return Answer(reply.status, reply.headers, reply.body)
