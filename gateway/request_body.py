"""The client's request body: read whole but bounded (MAX_BODY_BYTES), so a client cannot
make the gateway hold or send an unbounded body; and what is left of a refused one."""

from __future__ import annotations

import asyncio

from shop.problems import Problem
from shop.web.input import too_large

# A refused body is still read and dropped, up to this much and this long, so a client
# that is still sending gets the 413 rather than a connection reset; a pause of
# DRAIN_IDLE means it is not sending (it waits for the answer), so stop there.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 1.0
DRAIN_IDLE = 0.1


class ClientGone(Exception):
    """The client closed the connection before its request body was complete."""


class TooLarge(Exception):
    """The body is over the limit; `finished` if all of it has arrived anyway."""

    def __init__(self, problem: Problem, finished: bool) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.finished = finished


async def read_body(receive, declared: int | None, limit: int) -> bytes:
    """The whole request body, or TooLarge: at once if the declared length is over the
    limit (nothing read), else as soon as more than `limit` bytes arrived (chunked bodies)."""
    if declared is not None and declared > limit:
        raise TooLarge(too_large(limit), finished=False)
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            raise TooLarge(too_large(limit), finished=not more)
    return bytes(body)


async def discard_rest(receive) -> None:
    """Read and drop what the client is still sending after a 413, within a budget.

    Closing a socket with unread data makes the kernel send a reset, which can destroy
    the 413 before the client reads it. A client that sent `Expect: 100-continue` is
    waiting for us instead of sending; the caller skips this for it.
    """
    left = DRAIN_BYTES
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    while left > 0 and (remaining := deadline - loop.time()) > 0:
        try:
            async with asyncio.timeout(min(DRAIN_IDLE, remaining)):
                message = await receive()
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        left -= len(message.get("body", b""))
