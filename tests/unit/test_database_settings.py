"""Where a process finds its database, how many connections it may open, where the
monolith listens: the production rules (no SQLite default, BIND on every interface)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monolith.gunicorn_conf import LOCAL_BIND, bind_address
from shop.persistence.database import Database, MissingDatabaseUrl, PoolSettings, database_url

PG = "postgresql://shop@db:5432/catalog"


def test_locally_a_missing_url_is_a_sqlite_file_in_the_data_dir():
    url = database_url("catalog", {"THREEFOLD_DATA_DIR": "/d"}, default="catalog")
    assert url == "sqlite:////d/catalog.sqlite"


@pytest.mark.parametrize(
    "env",
    [
        {"CATALOG_DATABASE_URL": PG},
        {"DATABASE_URL": PG},
        {"CATALOG_DATABASE_URL": PG, "DATABASE_URL": "x"},
    ],
)
def test_in_production_an_explicit_url_is_used(env):
    assert (
        database_url("catalog", env, production=True) == "postgresql+psycopg://shop@db:5432/catalog"
    )


def test_in_production_a_missing_url_is_refused_naming_what_to_set():
    with pytest.raises(MissingDatabaseUrl, match="set CATALOG_DATABASE_URL or DATABASE_URL to"):
        database_url("catalog", {}, production=True)
    with pytest.raises(MissingDatabaseUrl, match="set DATABASE_URL to"):
        database_url(None, {"THREEFOLD_ENV": "production"})  # read from the environment
    assert database_url(None, {"THREEFOLD_ENV": "production"}, production=False).startswith(
        "sqlite"
    )


def test_pool_sizes_default_to_5_and_10(monkeypatch):
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    monkeypatch.delenv("DB_MAX_OVERFLOW", raising=False)
    pool = PoolSettings()
    assert (pool.db_pool_size, pool.db_max_overflow, pool.most_connections) == (5, 10, 15)


def test_a_postgresql_engine_takes_its_pool_sizes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    database = Database(PG)  # no connection is opened until one is asked for
    try:
        assert database.engine.pool.size() == 3
        assert database.engine.pool._max_overflow == 0
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_POOL_SIZE", "0"),
        ("DB_POOL_SIZE", "five"),
        ("DB_MAX_OVERFLOW", "-1"),
        ("DB_MAX_OVERFLOW", "1.5"),
    ],
)
def test_bad_pool_sizes_are_refused(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.lower()):
        PoolSettings()


@pytest.mark.parametrize(
    ("env", "production", "bind"),
    [
        ({}, False, LOCAL_BIND),
        ({}, True, "0.0.0.0:8080"),  # every interface, the port every container uses
        ({"BIND": "0.0.0.0:9000"}, False, "0.0.0.0:9000"),
        ({"BIND": "10.0.0.1:8080"}, True, "10.0.0.1:8080"),
    ],
)
def test_the_monolith_binds_where_bind_says_else_by_environment(env, production, bind):
    assert bind_address(env, production) == bind
