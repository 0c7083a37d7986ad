"""The in-cluster PostgreSQL, played by this machine's: a role and a database per run.

The overlays give each process a URL such as postgresql://catalog:PW@postgres:5432/catalog.
Here the host is the local server, and the role and database get a prefix unique to the
run (tfimg_<run>_<stage>_catalog), so two runs, or two stages with the same context
names, never share a table. They are dropped at the end of the run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

_POSTGRES_URL = re.compile(
    r"(?P<scheme>postgres(?:ql)?(?:\+[A-Za-z0-9]+)?)://"
    r"(?P<user>[^:@/\s]+)(?::(?P<password>[^@/\s]*))?@"
    r"(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?/(?P<database>[A-Za-z0-9_]+)"
)


def _connect(url: str, attempts: int = 30) -> psycopg.Connection:
    """A connection, waiting while the server is full (other test runs share it)."""
    attempt = 1
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or attempt >= attempts:
                raise
        attempt += 1
        time.sleep(2)


@dataclass
class LocalPostgres:
    """Roles and databases made for one run on the server at admin_url."""

    admin_url: (
        str  # a superuser on the local server, e.g. postgresql://postgres@127.0.0.1:5432/postgres
    )
    prefix: str  # tfimg_<run>_<stage>
    host: str = "127.0.0.1"
    port: int = 5432
    made: dict[str, str] = field(default_factory=dict)  # cluster role/database -> local name

    def rewrite(self, text: str, cluster_hosts: set[str]) -> str:
        """Every PostgreSQL URL in text whose host is a cluster name, pointed here."""

        def one(match: re.Match[str]) -> str:
            if match.group("host").lower() not in cluster_hosts:
                return match.group(0)
            user = self._local(match.group("user"), match.group("password") or "")
            database = self._database(match.group("database"), user)
            password = f":{match.group('password')}" if match.group("password") is not None else ""
            return f"{match.group('scheme')}://{user}{password}@{self.host}:{self.port}/{database}"

        return _POSTGRES_URL.sub(one, text)

    def _local(self, role: str, password: str) -> str:
        name = f"{self.prefix}_{role}"
        if f"role:{role}" not in self.made:
            self._run(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
            self.made[f"role:{role}"] = name
        return name

    def _database(self, database: str, owner: str) -> str:
        name = f"{self.prefix}_{database}"
        if f"database:{database}" not in self.made:
            self._run(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(owner)
                ),
                # As the cluster's init script does: only the owner may connect.
                sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)),
            )
            self.made[f"database:{database}"] = name
        return name

    def _run(self, *statements: sql.Composable) -> None:
        with _connect(self.admin_url) as conn:
            for statement in statements:
                conn.execute(statement)

    def drop(self) -> None:
        """Drop what this run made (databases first: a role that owns one cannot go)."""
        if not self.made:
            return
        databases = [n for k, n in self.made.items() if k.startswith("database:")]
        roles = [n for k, n in self.made.items() if k.startswith("role:")]
        self._run(
            *(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(n))
                for n in databases
            ),
            *(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(n)) for n in roles),
        )
        self.made.clear()
