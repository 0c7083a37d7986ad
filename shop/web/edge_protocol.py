"""uvicorn's HTTP/1.1 protocol with the shop's request-head rules (shop/web/request_head.py).

Served with `uvicorn --http shop.web.edge_protocol:EdgeProtocol`. Two
changes to uvicorn's h11 protocol: it buffers a head up to MAX_HEAD_BYTES, so
every head within the limits reaches the app, which checks it; and a head it
cannot parse (too long, or not HTTP) is answered with problem+json, not
uvicorn's plain-text 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from shop.web.request_head import MAX_HEAD_BYTES, raw_problem_response, refused_head


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
        super().connection_made(transport)

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this for any head h11 refused: say why, as a problem."""
        received, _ = self.conn.trailing_data
        problem = refused_head(received)
        self.logger.warning("refused a request head: %s", problem.detail)
        self.transport.write(raw_problem_response(problem))
        self.transport.close()
