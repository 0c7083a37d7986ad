"""Serve a function with Knative's Python middleware (func-python), as `func` builds it.

func-python 0.8.1's own `serve()` installs SIGTERM/SIGINT handlers that set an
event it never hands to hypercorn, so the process ignores SIGTERM until it is
killed. This serves the same ASGIApplication (health endpoints, CloudEvent
decoding and replies) with that event wired as hypercorn's shutdown trigger,
so a pod (or the local launcher) stops it gracefully. It also serves on a socket
that is already bound, `LISTEN_ADDRESS=fd://0` (how the local launcher starts it,
stages/listeners.py), which func-python's own binding refuses.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import func_python.cloudevent
import func_python.http
import func_python.sock
import hypercorn.asyncio
import hypercorn.config


def serve(new: Callable[[], object], events: bool) -> None:
    """Serve `new()` on LISTEN_ADDRESS (default :8080): events=True for CloudEvent functions."""
    middleware = func_python.cloudevent if events else func_python.http
    app = middleware.ASGIApplication(new())
    config = hypercorn.config.Config()
    config.bind = _binds()
    config.graceful_timeout = 5.0
    asyncio.run(_serve(app, config))


def _binds() -> list[str]:
    """hypercorn's binds: an inherited socket as given, else func-python binds LISTEN_ADDRESS."""
    address = os.environ.get("LISTEN_ADDRESS", "")
    if address.startswith("fd://"):
        return [address]
    return func_python.sock.bind()


async def _serve(app, config) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, app.stop_event.set)
    await hypercorn.asyncio.serve(app, config, shutdown_trigger=app.stop_event.wait)
