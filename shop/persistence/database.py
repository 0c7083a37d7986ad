"""Engines and sessions: SQLite files by default, PostgreSQL (psycopg 3) by URL.

`Database.reading()` and `Database.writing()` give a connection in a transaction,
opened by its first statement,
that commits on success and rolls back on error. Every store speaks SQLAlchemy Core
(tables, not mapped classes), so a plain Connection does: an ORM Session in its
place cost a third of a product lookup's time and bought nothing. On SQLite a writing
transaction starts with BEGIN IMMEDIATE, so concurrent writers (gunicorn
workers are separate processes) queue on the file lock instead of failing
half way with "database is locked"; on PostgreSQL rows are locked with
SELECT ... FOR UPDATE where it matters.

With `THREEFOLD_ENV=production` there is no SQLite default: a process without
an explicit database URL refuses to start (MissingDatabaseUrl). On PostgreSQL
each process keeps a pool of DB_POOL_SIZE connections and opens up to
DB_MAX_OVERFLOW more under load (PoolSettings): the most one process ever
holds is their sum, which is what the Kubernetes manifests budget for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_DATA_DIR = "data"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class MissingDatabaseUrl(ValueError):
    """THREEFOLD_ENV=production and no database URL: refused rather than a SQLite file
    inside a container that loses it (shop.startup_errors prints the message as it is)."""


class PoolSettings(BaseSettings):
    """A process's connections to one PostgreSQL database (SQLite files keep no pool)."""

    model_config = SettingsConfigDict(extra="ignore")

    db_pool_size: int = Field(5, ge=1)  # kept open once used
    db_max_overflow: int = Field(10, ge=0)  # opened beyond those under load, closed after

    @property
    def most_connections(self) -> int:
        return self.db_pool_size + self.db_max_overflow


def normalize_url(url: str) -> str:
    """Accept the URLs people write and pick the drivers the project installs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def database_url(
    context: str | None,
    env: Mapping[str, str] = os.environ,
    default: str = "shop",
    production: bool | None = None,
) -> str:
    """Where a context's data lives.

    `<CONTEXT>_DATABASE_URL` wins, then `DATABASE_URL`, then a SQLite file
    `<default>.sqlite` in `THREEFOLD_DATA_DIR` (default `./data`), except in
    production (`production`, or else `THREEFOLD_ENV=production` in `env`), which
    raises MissingDatabaseUrl instead.
    """
    names = [f"{context.upper()}_DATABASE_URL"] if context else []
    names.append("DATABASE_URL")
    for name in names:
        if env.get(name):
            return normalize_url(env[name])
    if production is None:
        production = env.get("THREEFOLD_ENV") == "production"
    if production:
        raise MissingDatabaseUrl(
            f"THREEFOLD_ENV=production needs an explicit database: set {' or '.join(names)} "
            "to a PostgreSQL URL (the SQLite file default is for local use only)."
        )
    data_dir = Path(env.get("THREEFOLD_DATA_DIR") or DEFAULT_DATA_DIR)
    return f"sqlite:///{data_dir / (default + '.sqlite')}"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - driver hook
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII only; search must fold "Ä" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover - driver hook
        # Straight to the driver: through exec_driver_sql, BEGIN cost as much as the query.
        connection.connection.driver_connection.execute(begin)

    return engine


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time the shop stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _OpenedOnFirstUse:
    """Stands in for a Connection in a transaction that is opened by the first statement,
    as an ORM Session's was: until then no connection is taken from the pool and, on
    SQLite, no lock is held (a writer that waits for something first keeps no one out)."""

    __slots__ = ("_engine", "connection", "transaction")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.connection: Connection | None = None
        self.transaction: RootTransaction | None = None

    def close(self) -> None:
        """Hand the connection back, if one was taken (closing rolls back what is open:
        a read has nothing to commit)."""
        if self.connection is not None:
            self.connection.close()

    def __getattr__(self, name: str) -> Any:
        if self.connection is None:
            self.connection = self._engine.connect()
            self.transaction = self.connection.begin()
        return getattr(self.connection, name)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """Commit on success, roll back on error (a transaction that ran nothing did nothing)."""
    stand_in = _OpenedOnFirstUse(engine)
    try:
        yield stand_in  # type: ignore[misc]  # behaves as the Connection it opens
    except BaseException:
        if stand_in.transaction is not None:
            stand_in.transaction.rollback()
        raise
    else:
        if stand_in.transaction is not None:
            stand_in.transaction.commit()
    finally:
        if stand_in.connection is not None:
            stand_in.connection.close()


class Database:
    """One context's (or the monolith's) database: engines made here, on request."""

    def __init__(self, url: str, pool: PoolSettings | None = None) -> None:
        """`pool`: the PostgreSQL pool's sizes; by default read from the environment."""
        self.url = normalize_url(url)
        if is_sqlite(self.url):
            self._read_engine = _sqlite_engine(self.url, immediate=False)
            self._write_engine = _sqlite_engine(self.url, immediate=True)
        else:
            pool = pool or PoolSettings()
            engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=pool.db_pool_size,
                max_overflow=pool.db_max_overflow,
            )
            self._read_engine = self._write_engine = engine

    @property
    def engine(self) -> Engine:
        return self._write_engine

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine of this database, once each (SQLite keeps a reader and a writer)."""
        if self._read_engine is self._write_engine:
            return (self._write_engine,)
        return (self._read_engine, self._write_engine)

    def reading(self) -> AbstractContextManager[Connection]:
        return _transaction(self._read_engine)

    def writing(self) -> AbstractContextManager[Connection]:
        return _transaction(self._write_engine)

    def reading_session(self) -> Connection:
        """A read connection not yet in a transaction: it begins at the first query; the
        caller closes it (for a caller that cannot hold `reading()` open across threads)."""
        return _OpenedOnFirstUse(self._read_engine)  # type: ignore[return-value]

    def ping(self) -> None:
        """Raise if the database cannot be reached (used by /readyz)."""
        with self._read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self._read_engine.dispose()
        self._write_engine.dispose()
