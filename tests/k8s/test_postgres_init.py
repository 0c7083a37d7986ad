"""The postgres component's init script, run as the image runs it on its first start:
against a brand-new PostgreSQL cluster (initdb here, a throwaway one, so the shared test
server is never changed), with the rendered overlay's database Secrets as its files.

Then each context's role logs in with its password (scram, over TCP, as in the
cluster), migrates its own database, and is refused every other database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shop.persistence import migrate
from tests.k8s.rendered import K8S, render
from tests.k8s.test_databases import _secret

INIT_SCRIPT = K8S / "components" / "postgres" / "init-databases.sh"
CONTEXTS = ("catalog", "inventory", "orders", "payments", "notifications")


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    assert pg_config, "PostgreSQL's server binaries (pg_config, initdb, pg_ctl) are needed"
    out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fresh_cluster() -> Iterator[tuple[Path, int]]:
    """A new PostgreSQL cluster (local socket trusted, TCP by password, as the image sets
    it up), started on a free port; stopped and removed afterwards."""
    bindir = _bindir()
    # initdb refuses to run as root: the cluster belongs to the `postgres` user then, in a
    # folder of its own (pytest's tmp_path is not open to other users).
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory(prefix="threefold-k8s-init-") as folder:
        home = Path(folder)
        if as_owner:
            shutil.chown(home, "postgres")
        yield from _started(bindir, as_owner, home)


def _started(bindir: Path, as_owner: list[str], home: Path) -> Iterator[tuple[Path, int]]:
    data, sockets, port = home / "data", home / "sockets", _free_port()
    subprocess.run(
        [*as_owner, bindir / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run([*as_owner, "mkdir", sockets], check=True)
    # A throwaway cluster: nothing needs to survive a crash, so nothing waits for the disk.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
    subprocess.run(
        [*as_owner, bindir / "pg_ctl", "-D", data, "-o", options, "-l", home / "log", "-w",
         "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield sockets, port
    finally:
        subprocess.run(
            [*as_owner, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )


def _mount_secrets(directory: Path, stage: str) -> dict[str, str]:
    """The Secrets' files as the projected volume lays them out; {database: URL}."""
    overlay = render(stage)
    urls = {}
    for name in CONTEXTS:
        data = _secret(overlay, f"{name}-database")
        (directory / name).mkdir(parents=True)
        for key in ("username", "password", "database"):
            (directory / name / key).write_text(data[key])
        urls[name] = data["DATABASE_URL"]
    return urls


def test_each_role_reaches_its_own_database_and_no_other(
    fresh_cluster: tuple[Path, int], tmp_path: Path
) -> None:
    sockets, port = fresh_cluster
    urls = _mount_secrets(tmp_path / "databases", "microservices")
    env = {
        **os.environ,
        "DATABASES_DIR": str(tmp_path / "databases"),
        "POSTGRES_USER": "postgres",
        "PGHOST": str(sockets),
        "PGPORT": str(port),
    }
    run = subprocess.run(["bash", INIT_SCRIPT], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr

    def here(url: str, database: str | None = None) -> str:
        """The cluster URL, pointed at this machine's throwaway server."""
        parsed = make_url(url).set(host="127.0.0.1", port=port)
        if database:
            parsed = parsed.set(database=database)
        return parsed.render_as_string(hide_password=False)

    for name, url in urls.items():
        with psycopg.connect(here(url), connect_timeout=5) as connection:
            role = connection.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles"
                                      " WHERE rolname = current_user").fetchone()  # fmt: skip
            assert role == (False, False, False)
        for other in [*(c for c in CONTEXTS if c != name), "postgres", "template1"]:
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(here(url, other), connect_timeout=5).close()
        # A wrong password is refused: the role is protected by its password, not trust.
        wrong = make_url(here(url)).set(password="not-the-password")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong.render_as_string(hide_password=False), connect_timeout=5)

    # Each role can create its context's tables in its own database (what its Job does).
    migrate.upgrade(here(urls["catalog"]), ["catalog"])
    with psycopg.connect(here(urls["catalog"])) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert ("products",) in tables or len(tables) > 1
