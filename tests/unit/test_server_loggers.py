"""A server's loggers go through the process's JSON handler, unless the server turned
one off (uvicorn --no-access-log): then it stays off, not back on through the root."""

from __future__ import annotations

import logging

from shop.telemetry.logs import configure_logging


def test_a_server_logger_turned_off_stays_off_and_one_in_use_is_rerouted():
    access, error = logging.getLogger("uvicorn.access"), logging.getLogger("uvicorn.error")
    root = logging.getLogger()
    saved = [(lg, lg.handlers[:], lg.propagate) for lg in (access, error)]
    root_handlers, root_level = root.handlers[:], root.level
    try:
        access.handlers, access.propagate = [], False  # what --no-access-log does
        error.handlers, error.propagate = [logging.StreamHandler()], False  # uvicorn's own
        configure_logging("catalog", "INFO")
        assert not access.hasHandlers()  # uvicorn writes access lines only if it has
        assert (error.handlers, error.propagate) == ([], True)
    finally:
        root.handlers[:], root.level = root_handlers, root_level
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate
