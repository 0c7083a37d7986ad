"""Serve a function with Knative's Python middleware (func-python), as `func` builds it.

func-python 0.8.1's own `serve()` installs SIGTERM/SIGINT handlers that set an
event it never hands to hypercorn, so the process ignores SIGTERM until it is
killed. This serves the same ASGIApplication (health endpoints, CloudEvent
decoding and replies) with that event wired as hypercorn's shutdown trigger,
so a pod (or the local launcher) stops it gracefully. It also serves on a socket
that is already bound, `LISTEN_ADDRESS=fd://0` (how the local launcher starts it,
stages/listeners.py), which func-python's own binding refuses.

Telemetry (shop/telemetry): `setup` once, as the function's name, before the
app is made (JSON log lines for the function, func-python and hypercorn alike;
spans); the app is wrapped in `instrument`: a server span per request (an HTTP
function's named by its route, an event function's by its event: see
event_function.py), request durations, and GET /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

import func_python.cloudevent
import func_python.http
import func_python.sock
import hypercorn.asyncio
import hypercorn.config

from functions.runtime.settings import FunctionSettings
from shop import telemetry
from shop.persistence.database import PoolSettings
from shop.startup_errors import check_settings, readable_errors
from shop.telemetry.asgi import instrument
from shop.web.request_head import MAX_HEAD_BYTES


def serve(new: Callable[[], object], events: bool) -> None:
    """Serve `new()` on LISTEN_ADDRESS (default :8080): events=True for CloudEvent functions."""
    # func-python reads the settings in the function's start(), inside a lifespan whose
    # failure it only logs: read them here first, so a bad value stops the process.
    settings = check_settings(FunctionSettings)
    function = new()
    telemetry.setup(getattr(function, "name", "function"), settings.log_level)
    _check_databases(function, settings)
    middleware = func_python.cloudevent if events else func_python.http
    app = middleware.ASGIApplication(function)
    config = hypercorn.config.Config()
    # hypercorn's own lines through the root's JSON handler (its default writes text).
    config.errorlog = logging.getLogger("hypercorn.error")
    config.bind = _binds()
    config.graceful_timeout = 5.0
    # Room for any request head within the limits the gateway lets through (hypercorn's
    # default, 16 KiB, is less, and its refusal is plain text).
    config.h11_max_incomplete_size = MAX_HEAD_BYTES
    asyncio.run(_serve(app, _instrumented(app, function, events), config))


def _instrumented(app: object, function: object, events: bool) -> object:
    """`app` with telemetry. An event function names its server spans after the event and
    has one route ("/"); an HTTP function's routes are the public API's templates, else
    its own (an internal path)."""
    if events:
        traced = getattr(function, "traces_deliveries", True)
        return instrument(app, route_of=lambda _scope: "/", names_spans=False, traced=traced)
    # Only here: the public API's templates come from its OpenAPI document, whose import
    # an event function's cold start need not pay.
    from shop.telemetry.routes import public_route

    own = getattr(function, "route_template", None)

    def route_of(scope: dict) -> str | None:
        return public_route(scope) or (own(scope["path"]) if own else None)

    return instrument(app, route_of=route_of)


def _check_databases(function: object, settings: FunctionSettings) -> None:
    """Find the function's databases as its start() will: no URL in production (no SQLite
    default there) or a bad pool size stops the process here, in one readable line."""
    contexts = getattr(function, "contexts", None) or (getattr(function, "context", ""),)
    with readable_errors():
        check_settings(PoolSettings)
        for context in filter(None, contexts):
            settings.database(context)


def _binds() -> list[str]:
    """hypercorn's binds: an inherited socket as given, else func-python binds LISTEN_ADDRESS."""
    address = os.environ.get("LISTEN_ADDRESS", "")
    if address.startswith("fd://"):
        return [address]
    return func_python.sock.bind()


async def _serve(app, served, config) -> None:
    """Serve `served` (`app` wrapped) until `app`'s stop event is set."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, app.stop_event.set)
    await hypercorn.asyncio.serve(served, config, shutdown_trigger=app.stop_event.wait)
