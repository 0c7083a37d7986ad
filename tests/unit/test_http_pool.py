"""shop/web/http_pool.py against small in-process servers that answer as scripted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from shop.web import http_pool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def answering(*answers: bytes, then_close: bool = False) -> Handler:
    """A server connection that reads a request head and sends the next answer, for each
    answer in turn; then waits for the client to close (or closes, `then_close`)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await read_head(reader)
            writer.write(answer)
            await writer.drain()
        if not then_close:
            await reader.read()
        writer.close()

    return handle


class Server:
    """A server on a free port that counts the connections it accepted."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def _accept(self, reader, writer) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()

    async def __aenter__(self) -> http_pool.Origin:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return http_pool.Origin("127.0.0.1", port, f"127.0.0.1:{port}".encode())

    async def __aexit__(self, *_exc) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:  # connections still open end with the test
            writer.close()
        await asyncio.sleep(0.01)  # their handlers see the end and return


def get(pool: http_pool.Pool, origin: http_pool.Origin, timeout: float = 2.0):
    return pool.request(origin, "GET", b"/x", [], b"", timeout)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 10))


def test_a_keep_alive_connection_serves_the_next_call():
    async def test() -> None:
        server = Server(answering(OK, OK, OK))
        async with server as origin:
            pool = http_pool.Pool()
            replies = [await get(pool, origin) for _ in range(3)]
            assert [(r.status, r.body) for r in replies] == [(200, b"ok")] * 3
            assert server.connections == 1
            await pool.aclose()

    run(test)


def test_a_connection_the_peer_closed_while_idle_is_not_used_again():
    async def test() -> None:
        server = Server(answering(OK, then_close=True))
        async with server as origin:
            pool = http_pool.Pool()
            await get(pool, origin)
            await asyncio.sleep(0.05)  # the loop sees the peer's FIN
            assert (await get(pool, origin)).body == b"ok"
            assert server.connections == 2
            await pool.aclose()

    run(test)


def test_an_idle_connection_older_than_the_expiry_is_replaced():
    async def test() -> None:
        server = Server(answering(OK))
        async with server as origin:
            pool = http_pool.Pool(keepalive_expiry=0.0)
            await get(pool, origin)
            await get(pool, origin)
            assert server.connections == 2
            assert pool.open_connections == 1  # the expired one was closed
            await pool.aclose()

    run(test)


def test_an_answer_with_connection_close_is_not_kept():
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"

    async def test() -> None:
        server = Server(answering(closing, then_close=True))
        async with server as origin:
            pool = http_pool.Pool()
            await get(pool, origin)
            assert pool.open_connections == 0
            await get(pool, origin)
            assert server.connections == 2
            await pool.aclose()

    run(test)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_is_read_whole_however_it_is_framed(answer):
    async def test() -> None:
        async with Server(answering(answer, OK)) as origin:
            pool = http_pool.Pool()
            reply = await get(pool, origin)
            assert (reply.status, reply.body) == (200, b"hello world")
            assert (await get(pool, origin)).body == b"ok"  # the framing ended where it said
            await pool.aclose()

    run(test)


def test_a_body_ended_by_the_connection_closing_is_read_whole():
    answer = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end"

    async def test() -> None:
        async with Server(answering(answer, then_close=True)) as origin:
            pool = http_pool.Pool()
            assert (await get(pool, origin)).body == b"until the end"
            await pool.aclose()

    run(test)


def test_the_request_carries_host_headers_and_a_body_with_its_length():
    seen: list[bytes] = []

    async def handle(reader, writer) -> None:
        head = await read_head(reader)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        seen.append(head + await reader.readexactly(length))
        writer.write(OK)
        await writer.drain()
        await reader.read()

    async def test() -> None:
        async with Server(handle) as origin:
            pool = http_pool.Pool()
            headers = [(b"x-request-id", b"r1")]
            await pool.request(origin, "POST", b"/api/orders?a=1", headers, b'{"n":1}', 2.0)
            await pool.aclose()
        request = seen[0].decode()
        assert request.startswith("POST /api/orders?a=1 HTTP/1.1\r\n")
        assert f"host: {origin.host_header.decode()}\r\n" in request
        assert "x-request-id: r1\r\n" in request
        assert request.endswith('content-length: 7\r\n\r\n{"n":1}')

    run(test)


def test_a_refused_connection_is_connect_failed():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = http_pool.Origin("127.0.0.1", port, b"x")

    async def test() -> None:
        with pytest.raises(http_pool.ConnectFailed):
            await get(http_pool.Pool(), origin)

    run(test)


def test_a_connection_not_accepted_in_time_is_connect_timed_out(monkeypatch):
    async def never(*_args, **_kwargs):
        await asyncio.Event().wait()

    monkeypatch.setattr(asyncio, "open_connection", never)

    async def test() -> None:
        pool = http_pool.Pool(connect_timeout=0.05)
        with pytest.raises(http_pool.ConnectTimedOut):
            await get(pool, http_pool.Origin("127.0.0.1", 9, b"x"))
        assert pool.open_connections == 0

    run(test)


def test_an_answer_not_given_in_time_is_timed_out_and_its_connection_closed():
    async def silent(reader, writer) -> None:
        await reader.read()

    async def test() -> None:
        async with Server(silent) as origin:
            pool = http_pool.Pool()
            with pytest.raises(http_pool.TimedOut):
                await get(pool, origin, timeout=0.05)
            assert pool.open_connections == 0
            await pool.aclose()

    run(test)


@pytest.mark.parametrize(
    "answer",
    [b"", b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf", b"not http at all\r\n\r\n"],
    ids=["no answer", "half a body", "not http"],
)
def test_a_broken_answer_is_a_broken_exchange(answer):
    async def test() -> None:
        async with Server(answering(answer, then_close=True)) as origin:
            pool = http_pool.Pool()
            with pytest.raises(http_pool.BrokenExchange):
                await get(pool, origin)
            assert pool.open_connections == 0
            await pool.aclose()

    run(test)


def test_calls_beyond_the_limit_wait_for_a_free_connection_then_give_up():
    release = asyncio.Event()

    async def slow(reader, writer) -> None:
        while True:
            await read_head(reader)
            await release.wait()
            writer.write(OK)
            await writer.drain()

    async def test() -> None:
        server = Server(slow)
        async with server as origin:
            pool = http_pool.Pool(max_connections=1)
            first = asyncio.create_task(get(pool, origin))
            await asyncio.sleep(0.05)
            with pytest.raises(http_pool.PoolFull):
                await get(pool, origin, timeout=0.05)
            waiting = asyncio.create_task(get(pool, origin))
            await asyncio.sleep(0.05)
            release.set()
            assert (await first).body == (await waiting).body == b"ok"
            assert server.connections == 1
            await pool.aclose()

    run(test)


def test_a_new_origin_past_the_limit_closes_another_origins_idle_connection():
    async def test() -> None:
        async with Server(answering(OK)) as one, Server(answering(OK)) as two:
            pool = http_pool.Pool(max_connections=1)
            await get(pool, one)
            await get(pool, two)
            assert pool.open_connections == 1
            await pool.aclose()
            assert pool.open_connections == 0

    run(test)


def test_the_wait_for_a_free_connection_counts_in_the_calls_timeout():
    """The second call waits 0.2 s for the connection, then its answer takes 0.2 s more:
    within 0.3 s for the exchange alone, but not for the call."""

    async def answers_then_slowly(reader, writer) -> None:
        await read_head(reader)
        await asyncio.sleep(0.2)
        writer.write(OK)
        await writer.drain()
        await read_head(reader)
        await asyncio.sleep(0.2)
        writer.write(OK)
        await writer.drain()
        await reader.read()

    async def test() -> None:
        async with Server(answers_then_slowly) as origin:
            pool = http_pool.Pool(max_connections=1)
            first = asyncio.create_task(get(pool, origin))
            await asyncio.sleep(0.01)
            with pytest.raises(http_pool.TimedOut):
                await get(pool, origin, timeout=0.3)
            assert (await first).body == b"ok"
            await pool.aclose()

    run(test)
