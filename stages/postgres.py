"""Fresh PostgreSQL databases for a stage run (make chaos DB=postgresql): made, then dropped.

Each of the stage's databases (DATABASES in stages/definitions.py) gets its own
PostgreSQL database, named `<prefix>_<name>` (for example
`threefold_chaos_microservices_orders`) on the server of THREEFOLD_POSTGRES_URL
(default: the local one, user postgres, trust auth). A database of that name
left by an earlier run is dropped first: these names belong to the command.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("THREEFOLD_POSTGRES_URL", DEFAULT_SERVER)


def url_for(server: str, name: str) -> str:
    """The URL of database `name` on the server that `server` (any database's URL) is on."""
    return f"{server.rsplit('/', 1)[0]}/{name}"


def _admin(server: str) -> psycopg.Connection:
    try:
        return psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RuntimeError(
            f"PostgreSQL is not reachable at {server} ({first}); start it, or set "
            "THREEFOLD_POSTGRES_URL to a server where this user may create databases"
        ) from error


def drop(server: str, names: Iterable[str]) -> None:
    with _admin(server) as admin:
        for name in names:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def create(server: str, names: Iterable[str]) -> None:
    """Make each database empty and new (an old one of the same name is dropped first)."""
    names = list(names)
    drop(server, names)
    with _admin(server) as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def stage_databases(
    prefix: str, purposes: Iterable[str], keep: bool = False, server: str | None = None
) -> Iterator[dict[str, str]]:
    """One new database per purpose, {purpose: url}; dropped on exit unless `keep`."""
    server = server or server_url()
    names = {purpose: f"{prefix}_{purpose}" for purpose in purposes}
    create(server, names.values())
    try:
        yield {purpose: url_for(server, name) for purpose, name in names.items()}
    finally:
        if not keep:
            drop(server, names.values())
