"""Integration fixtures: migrated databases on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from tests.support.postgres import fresh_databases


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.sqlite'}"
    else:
        with fresh_databases("integration") as urls:
            yield urls["integration"]


@pytest.fixture
def database(database_url) -> Iterator[Database]:
    upgrade(database_url)
    db = Database(database_url)
    yield db
    db.dispose()
