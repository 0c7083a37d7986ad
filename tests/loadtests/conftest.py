"""Fixtures of the load test tests.

Locust never runs inside the test process: it monkey-patches the standard
library with gevent when imported (and registers a pytest plugin, switched
off with `-p no:locust` in pyproject.toml). Every test here checks that
neither got in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest

from tests.loadtests.recorded_kubernetes import RecordedKubernetes, serve


@pytest.fixture(autouse=True)
def _locust_stays_outside() -> Iterator[None]:
    yield
    inside = {"locust", "gevent"} & set(sys.modules)
    assert not inside, f"{inside} imported into the test process: run Locust as a process"


@pytest.fixture
def kubernetes_api() -> Iterator[Callable[[dict[str, list[dict]]], RecordedKubernetes]]:
    """Start a recorded API server with {path: [answers]}; it is stopped after the test."""
    servers = []

    def start(responses: dict[str, list[dict]]) -> RecordedKubernetes:
        api, server = serve(responses)
        servers.append(server)
        return api

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
