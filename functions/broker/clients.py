"""The broker's HTTP clients: one pooled client per destination, made on its first POST.

One client shared by every subscriber pools every keep-alive connection the broker
holds, and httpcore's pool looks at each of them twice per request (on taking a
connection and on giving it back): a readability poll of every idle connection,
and a count of the idle ones for each connection, so its cost grows with the
square of the connections the broker keeps to all subscribers together. With a
client per destination a delivery's pool holds only that subscriber's few
connections. The destinations are the subscriber, dead-letter and ping sink URLs of
the manifests and settings: a fixed, small set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


class ClientPerDestination:
    """Quacks like the one `httpx.AsyncClient` that Sender POSTs with (`post`, `aclose`)."""

    def __init__(self, make: Callable[[], httpx.AsyncClient]) -> None:
        self._make = make
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = self._make()
        return await client.post(url, **kwargs)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
