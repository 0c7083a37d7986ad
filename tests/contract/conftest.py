"""The contract suite's stage fixture: every test runs against every stage.

Each stage is started for real with the project's launcher, on free ports,
on a fresh database (SQLite files in a temporary folder, or new PostgreSQL
databases made and dropped here), and stopped after the session. Adding a
stage to the suite is adding one line to STAGES.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.support.client import ShopClient
from tests.support.stages import start_stage

ADMIN_TOKEN = "contract-suite-admin-token"

STAGES = [
    pytest.param(("monolith", "sqlite"), id="monolith-sqlite"),
    pytest.param(("monolith", "postgres"), id="monolith-postgres", marks=pytest.mark.postgres),
    pytest.param(("microservices", "sqlite"), id="microservices-sqlite"),
    pytest.param(
        ("microservices", "postgres"), id="microservices-postgres", marks=pytest.mark.postgres
    ),
    pytest.param(("functions", "sqlite"), id="functions-sqlite"),
    pytest.param(("functions", "postgres"), id="functions-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session", params=STAGES)
def stage(request, tmp_path_factory) -> Iterator[ShopClient]:
    name, backend = request.param
    data_dir = tmp_path_factory.mktemp(f"{name}-{backend}")
    with ExitStack() as stack:
        yield start_stage(stack, name, backend, data_dir, ADMIN_TOKEN)


@pytest.fixture
def shop(stage: ShopClient) -> ShopClient:
    return stage


# The HTTP edges (README "Edges") are answered before any database is reached, so they
# are checked once per stage, on SQLite; every other module runs on both databases.
SQLITE_ONLY_MODULES = {"test_edges.py", "test_observability.py"}


def pytest_collection_modifyitems(config, items):
    dropped = [
        item
        for item in items
        if item.path.name in SQLITE_ONLY_MODULES and "-postgres" in item.nodeid
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [item for item in items if item not in gone]
