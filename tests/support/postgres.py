"""Fresh PostgreSQL databases for a test session, made and dropped here.

The server is the one named by TEST_POSTGRES_URL (default: the local one,
trust auth). If it cannot be reached the tests fail rather than skip: CI must
prove the PostgreSQL path, never pass by leaving it out.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {SERVER_URL} ({error}). Start it "
            "(pg_ctlcluster <version> main start) or point TEST_POSTGRES_URL at a server."
        ) from error


def _url_for(name: str) -> str:
    base = SERVER_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@contextmanager
def fresh_databases(*purposes: str) -> Iterator[dict[str, str]]:
    """One new, empty database per purpose: {purpose: url}; all dropped on exit."""
    token = secrets.token_hex(4)
    names = {purpose: f"threefold_test_{token}_{purpose}" for purpose in purposes}
    with _admin() as admin:
        for name in names.values():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {purpose: _url_for(name) for purpose, name in names.items()}
    finally:
        with _admin() as admin:
            for name in names.values():
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
