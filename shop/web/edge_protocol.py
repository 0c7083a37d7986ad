"""uvicorn's HTTP/1.1 protocol with the shop's request-head rules (shop/web/request_head.py).

Served with `uvicorn --http shop.web.edge_protocol:EdgeProtocol`. Three
changes to uvicorn's h11 protocol: it buffers a head up to MAX_HEAD_BYTES, so
every head within the limits reaches the app, which checks it; a head it
cannot parse (too long, or not HTTP) is answered with problem+json, not
uvicorn's plain-text 400; and an answer's head and body go out in one send
(CoalescedWrites), where uvicorn writes each as soon as the app hands it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from shop.web.request_head import MAX_HEAD_BYTES, raw_problem_response, refused_head


class CoalescedWrites:
    """The connection's transport, with the writes made in one turn of the event loop sent
    together at its end: uvicorn writes an answer's head, then its body, each with a
    send of its own, and the peer (the gateway's pool, a client) then wakes for each.
    A send was the largest single cost of the gateway's CPU per read (make profile)."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self._flush)
        else:
            self._held.append(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(b"".join(held))

    def close(self) -> None:
        self._flush()  # what the answer wrote goes before the connection ends
        self._transport.close()

    def __getattr__(self, name: str):  # everything else is the transport's own
        return getattr(self._transport, name)


class EdgeProtocol(H11Protocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # The launcher hands uvicorn its listening socket as fd 0 (`--fd`), which uvicorn
        # opens as AF_UNIX, so asyncio never sets TCP_NODELAY on the TCP connections it
        # accepts: a reused keep-alive connection then waits ~40 ms per answer (Nagle
        # against the peer's delayed ACK), measured on every gateway-to-service call.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(CoalescedWrites(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this for any head h11 refused: say why, as a problem."""
        received, _ = self.conn.trailing_data
        problem = refused_head(received)
        self.logger.warning("refused a request head: %s", problem.detail)
        self.transport.write(raw_problem_response(problem))
        self.transport.close()
