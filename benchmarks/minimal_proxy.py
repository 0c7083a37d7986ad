"""The least a hop can cost: an ASGI app that forwards every request to one upstream and
passes its answer back, and nothing else (no routing, limits, ids, telemetry). Only
/readyz is its own, for the launcher (which wants it to name this process).

Served with the services' own uvicorn command (stages/definitions.py) in front of the
monolith, it gives the floor of the read-path ratio (benchmarks/service_overhead.py):
the monolith's own read plus one hop through the pool the gateway uses
(shop/web/http_pool.py), against the monolith's read alone. No split stage can do
better than this with one hop, whatever its own code costs.

    UPSTREAM=http://127.0.0.1:8000 uvicorn --factory benchmarks.minimal_proxy:create_app
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from shop.schemas import Health
from shop.web import http_pool

# A connection's own headers, and the length, which the pool and uvicorn set themselves.
NOT_FORWARDED = frozenset(
    {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}
)
NOT_RETURNED = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"date", b"server"})


class MinimalProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.origin = http_pool.Origin(
            parts.hostname or "127.0.0.1", parts.port or 80, parts.netloc.encode()
        )
        self.pool: http_pool.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.pool = http_pool.Pool()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http" or self.pool is None:
            return
        if scope["path"] == "/readyz":
            ready = Health(status="ok").model_dump_json().encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": ready})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        query = scope.get("query_string", b"")
        target = scope["raw_path"] + (b"?" + query if query else b"")
        headers = [(n, v) for n, v in scope["headers"] if n not in NOT_FORWARDED]
        try:
            reply = await self.pool.request(
                self.origin, scope["method"], target, headers, body, 10.0
            )
        except http_pool.CallFailed:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        kept = [(n, v) for n, v in reply.headers if n not in NOT_RETURNED]
        await send({"type": "http.response.start", "status": reply.status, "headers": kept})
        await send({"type": "http.response.body", "body": reply.body})


def create_app() -> MinimalProxy:
    return MinimalProxy(os.environ["UPSTREAM"])
