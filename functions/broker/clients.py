"""The broker's HTTP clients: one pooled client per destination (scheme, host and port),
made when the broker starts (or on the first POST to a URL it did not know then).

One client shared by every subscriber pools every keep-alive connection the broker
holds, and httpcore's pool looks at each of them twice per request (on taking a
connection and on giving it back): a readability poll of every idle connection,
and a count of the idle ones for each connection, so its cost grows with the
square of the connections the broker keeps to all subscribers together. With a
client per destination a delivery's pool holds only that subscriber's few
connections (all of its triggers' paths share them). The destinations come from the
subscriber, dead-letter and ping sink URLs of the manifests and settings: a fixed,
small set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx


class ClientPerDestination:
    """Quacks like the one `httpx.AsyncClient` that Sender POSTs with (`post`, `aclose`)."""

    def __init__(self, make: Callable[[], httpx.AsyncClient]) -> None:
        self._make = make
        self._clients: dict[tuple[str, str, int | None], httpx.AsyncClient] = {}
        self._by_url: dict[str, httpx.AsyncClient] = {}  # the URLs seen, parsed once

    def prepare(self, urls: Iterable[str]) -> None:
        """Make the clients of these URLs now: a client made in a delivery would be made
        inside its timeout, and the first one (importing httpcore) took longer than a
        trigger's 0.3 s on a busy machine."""
        for url in urls:
            self._client(url)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await (self._by_url.get(url) or self._client(url)).post(url, **kwargs)

    def _client(self, url: str) -> httpx.AsyncClient:
        parsed = httpx.URL(url)
        destination = (parsed.scheme, parsed.host, parsed.port)
        if destination not in self._clients:
            self._clients[destination] = self._make()
        client = self._by_url[url] = self._clients[destination]
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._by_url.clear()
