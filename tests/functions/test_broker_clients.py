"""The broker's clients: one per destination (scheme, host, port), shared by its paths."""

from __future__ import annotations

import asyncio

import httpx

from functions.broker.clients import ClientPerDestination


def test_urls_of_one_destination_share_a_client_and_others_get_their_own():
    made: list[tuple[httpx.AsyncClient, list[str]]] = []

    def make() -> httpx.AsyncClient:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return httpx.Response(204)

        client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        made.append((client, seen))
        return client

    async def scenario() -> None:
        clients = ClientPerDestination(make)
        clients.prepare(["http://127.0.0.1:8001/a", "http://127.0.0.1:8001/b"])
        assert len(made) == 1  # made at start, once for the destination
        await clients.post("http://127.0.0.1:8001/b", content=b"")
        await clients.post("http://127.0.0.1:8002/a", content=b"")  # unknown at start
        await clients.post("http://127.0.0.1:8001/a", content=b"")
        assert [seen for _, seen in made] == [
            ["http://127.0.0.1:8001/b", "http://127.0.0.1:8001/a"],
            ["http://127.0.0.1:8002/a"],
        ]
        await clients.aclose()
        assert all(client.is_closed for client, _ in made)

    asyncio.run(scenario())
