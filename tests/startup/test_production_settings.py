"""THREEFOLD_ENV=production: no SQLite default, a readable refusal instead; pool sizes
from the environment, refused in one line when they are not numbers.

The real commands each stage's processes run, each in a process of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stages.launcher import ROOT

PRODUCTION = {"THREEFOLD_ENV": "production", "ADMIN_TOKEN": "a-production-admin-token"}
DATABASE_URLS = ("DATABASE_URL", *(f"{c}_DATABASE_URL" for c in ("CATALOG", "INVENTORY")))

MONOLITH = ["-m", "gunicorn", "-c", "python:monolith.gunicorn_conf", "monolith.wsgi:app"]
SERVICE = ["-m", "shop.startup", "uvicorn", "--factory", "microservices.catalog.app:create_app"]
FUNCTION = ["-m", "shop.startup", "functions.admin_writes"]


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if k not in DATABASE_URLS}
    done = subprocess.run(
        [sys.executable, *argv, "--port", "0"] if "uvicorn" in argv else [sys.executable, *argv],
        cwd=ROOT,
        env=base | {"PYTHONUNBUFFERED": "1", "BIND": "127.0.0.1:0"} | env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _one_readable_line(output: str, *needles: str) -> None:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    for needle in needles:
        assert needle in errors[0], (needle, output)


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (MONOLITH, "set DATABASE_URL to"),
        (SERVICE, "set DATABASE_URL to"),
        (FUNCTION, "set CATALOG_DATABASE_URL or DATABASE_URL to"),
    ],
    ids=["monolith", "service", "function"],
)
def test_production_without_a_database_url_refuses_to_start(argv, names):
    code, output = _run(argv, PRODUCTION)
    assert code == 2, output
    _one_readable_line(output, "THREEFOLD_ENV=production needs an explicit database", names)


@pytest.mark.parametrize(
    "argv", [MONOLITH, SERVICE, FUNCTION], ids=["monolith", "service", "function"]
)
@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("DB_POOL_SIZE", "lots", "must be a whole number"),
        ("DB_MAX_OVERFLOW", "-1", "must be at least 0"),
    ],
)
def test_a_bad_pool_size_stops_the_start_in_one_readable_line(
    tmp_path, argv, variable, value, rule
):
    env = {"THREEFOLD_DATA_DIR": str(tmp_path), variable: value}
    code, output = _run(argv, env)
    assert code == 2, output
    _one_readable_line(output, f"{variable}={value} is not allowed", rule)
