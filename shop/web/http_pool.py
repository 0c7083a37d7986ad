"""A small pooled keep-alive HTTP/1.1 client on asyncio streams, with h11 as the parser.

For a hop that forwards many short calls to a few fixed peers (the gateway): it sends
a method, a target, headers and a body, and reads the whole answer. httpx (over
httpcore and anyio) spent about 0.6 ms of CPU per forwarded read here, a quarter of
it polling every idle pooled socket on each request (make profile STAGE=microservices);
this pool asks a connection only whether asyncio has already seen its peer close it.

What it keeps from the client it replaces, because callers depend on it:
- a pool of keep-alive connections per origin, at most `max_connections` open in all,
  a call waiting for a free one no longer than its timeout (then PoolFull);
- an idle connection is dropped after `keepalive_expiry` seconds, before the peer's
  own keep-alive ends (uvicorn: 5 s), so a call is never sent on a connection the
  peer is closing;
- a connect timeout, and one timeout for the rest of the call (waiting for a free
  connection, sending, waiting, reading the whole body);
- failures split by what the caller may conclude: ConnectFailed and ConnectTimedOut
  (nothing was sent), PoolFull (nothing was sent), TimedOut and BrokenExchange
  (the peer may have seen the call);
- bodies framed by Content-Length, chunked or by the connection's end, as h11 reads them.

Never follows redirects, sends no header of its own but Host and the body's length,
and never uses a proxy from the environment.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

import h11

Headers = list[tuple[bytes, bytes]]
READ_SIZE = 65536


class CallFailed(Exception):
    """A call did not get a whole answer."""


class ConnectFailed(CallFailed):
    """No connection: refused, or the host could not be found. Nothing was sent."""


class ConnectTimedOut(CallFailed):
    """The peer did not accept a connection in time. Nothing was sent."""


class PoolFull(CallFailed):
    """Every connection was busy for the whole timeout. Nothing was sent."""


class TimedOut(CallFailed):
    """Sent (or being sent), but the whole answer did not come in time."""


class BrokenExchange(CallFailed):
    """The connection closed, or the peer's bytes were not HTTP, before the answer ended."""


@dataclass(frozen=True)
class Origin:
    host: str
    port: int
    host_header: bytes  # as the Host header names it ("catalog:8000")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers  # as the peer sent them, names lowercased
    body: bytes


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def reusable(self, now: float, expiry: float) -> bool:
        """Idle for less than `expiry`, and asyncio has not seen the peer close it (the
        loop notices an end of stream when it happens: no socket is polled here)."""
        return (
            now - self.idle_since < expiry
            and not self.reader.at_eof()
            and not self.writer.transport.is_closing()
        )

    def close(self) -> None:
        self.writer.transport.abort()  # nothing more to send; no need to wait for a FIN

    async def exchange(self, method: str, target: bytes, host: bytes, headers: Headers,
                       body: bytes) -> Reply:  # fmt: skip
        parser = self.parser
        head = [(b"host", host), *headers]
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            head.append((b"content-length", b"%d" % len(body)))
        data = parser.send(h11.Request(method=method, target=target, headers=head))
        if body:
            data += parser.send(h11.Data(data=body))
        self.writer.write(data + parser.send(h11.EndOfMessage()))
        status, answer_headers, chunks = 0, [], []
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                parser.receive_data(await self.reader.read(READ_SIZE))
            elif type(event) is h11.Response:
                status, answer_headers = event.status_code, list(event.headers)
            elif type(event) is h11.Data:
                chunks.append(event.data)
            elif type(event) is h11.EndOfMessage:
                return Reply(status, answer_headers, b"".join(chunks))
            elif type(event) is h11.ConnectionClosed:
                raise BrokenExchange("the connection closed before an answer")
            # an InformationalResponse (100 Continue, 103) is not the answer: read on

    def ready_for_next(self) -> bool:
        """Whether both sides left the connection open for another exchange."""
        parser = self.parser
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            parser.start_next_cycle()
            return True
        return False


class Pool:
    """Keep-alive connections to any number of origins, shared by every call."""

    def __init__(
        self,
        max_connections: int = 100,
        keepalive_expiry: float = 2.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.connect_timeout = connect_timeout
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._open = 0  # connections open, idle or in use
        self._free = asyncio.Semaphore(max_connections)  # calls in flight
        self._closed = False

    async def request(self, origin: Origin, method: str, target: bytes, headers: Headers,
                      body: bytes, timeout: float) -> Reply:  # fmt: skip
        """The whole answer to one call, or a CallFailed. `timeout`: seconds for the call
        but connecting (connect_timeout), the wait for a free connection included."""
        if self._closed:
            raise ConnectFailed("the pool is closed")
        if self._free.locked():  # every connection busy: wait, but not for ever
            started = time.monotonic()
            try:
                async with asyncio.timeout(timeout):
                    await self._free.acquire()
            except TimeoutError:
                raise PoolFull(f"no free connection within {timeout:g}s") from None
            timeout -= time.monotonic() - started
        else:
            await self._free.acquire()  # free: returns at once
        try:
            connection = self._idle_connection(origin) or await self._connect(origin)
            try:
                async with asyncio.timeout(timeout):
                    reply = await connection.exchange(
                        method, target, origin.host_header, headers, body
                    )
            except TimeoutError:
                self._discard(connection)
                raise TimedOut(f"no whole answer within {timeout:g}s") from None
            except (OSError, h11.ProtocolError) as error:
                self._discard(connection)
                raise BrokenExchange(f"{type(error).__name__}: {error}") from None
            except BaseException:  # BrokenExchange, or the caller cancelled mid-exchange
                self._discard(connection)
                raise
            self._release(origin, connection)
            return reply
        finally:
            self._free.release()

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to expire
            if connection.reusable(now, self.keepalive_expiry):
                return connection
            self._discard(connection)
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        if self._open >= self.max_connections:
            self._drop_oldest_idle()  # idle for another origin: make room
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, limit=READ_SIZE
                )
        except TimeoutError:
            raise ConnectTimedOut(f"no connection within {self.connect_timeout:g}s") from None
        except OSError as error:  # refused, unreachable, or no such host
            raise ConnectFailed(f"{type(error).__name__}: {error}") from None
        self._open += 1
        return _Connection(reader, writer)

    def _release(self, origin: Origin, connection: _Connection) -> None:
        if self._closed or not connection.ready_for_next():
            self._discard(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(origin, deque()).append(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open -= 1

    def _drop_oldest_idle(self) -> None:
        oldest = min(
            (idle for idle in self._idle.values() if idle),
            key=lambda idle: idle[0].idle_since,
            default=None,
        )
        if oldest:
            self._discard(oldest.popleft())

    @property
    def open_connections(self) -> int:
        return self._open

    async def aclose(self) -> None:
        """Close every idle connection; calls in flight close theirs when they end."""
        self._closed = True
        for idle in self._idle.values():
            while idle:
                self._discard(idle.popleft())
