"""Start-up errors a person can read: the real commands, run as a newcomer runs them.

Each case runs the command in a process of its own and checks that what it
prints is short, names the setting (or database or folder), the value, the
rule and what to do, and holds no traceback; THREEFOLD_DEBUG=1 brings the
traceback back.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from stages.launcher import ROOT, free_port
from tests.support.postgres import SERVER_URL


def _run(*argv: str, env: dict[str, str] | None = None, timeout: float = 90) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _readable(output: str, *needles: str, most_lines: int) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    assert len(lines) <= most_lines, output
    for needle in needles:
        assert needle in output, (needle, output)


def test_an_invalid_setting_stops_the_monolith_in_one_readable_line(tmp_path):
    code, output = _run(
        "-m", "stages", "run", "monolith", "--port", str(free_port()),
        "--data-dir", str(tmp_path), env={"PAYMENT_FAILURE_RATE": "2"},
    )  # fmt: skip
    assert code == 1, output
    # the process's own line (prefixed with its name) and the launcher's summary of it
    _readable(output, "PAYMENT_FAILURE_RATE=2", "must be at most 1", "unset it", most_lines=6)
    assert output.count("is not allowed") == 2, output  # once by gunicorn's master, not per worker


@pytest.mark.parametrize(
    "entry",
    [
        ["uvicorn", "--factory", "microservices.catalog.app:create_app", "--port", "0"],
        ["functions.catalog_read"],
    ],
    ids=["service", "function"],
)
def test_an_invalid_setting_stops_a_service_or_function_in_one_readable_line(entry):
    code, output = _run("-m", "shop.startup", *entry, env={"ADMIN_TOKEN": "short"})
    assert code == 2, output
    _readable(output, "ADMIN_TOKEN", "at least 8 characters", "unset it", most_lines=4)
    assert "short" not in output.replace("(a value of 5 characters)", "")  # a secret is not shown


def test_a_missing_postgresql_database_says_how_to_create_it(tmp_path):
    server = make_url(SERVER_URL)
    name = f"threefold_missing_{secrets.token_hex(4)}"
    url = server.set(database=name).render_as_string(hide_password=False)
    code, output = _run(
        "-m", "stages", "run", "monolith", "--port", str(free_port()),
        "--data-dir", str(tmp_path), "--database-url", url,
    )  # fmt: skip
    assert code == 1, output
    createdb = f"createdb -h {server.host} -p {server.port or 5432} -U {server.username} {name}"
    _readable(output, f'"{name}" does not exist', createdb, most_lines=3)


def test_the_traceback_is_there_under_the_debug_setting():
    url = make_url(SERVER_URL).set(database=f"threefold_missing_{secrets.token_hex(4)}")
    argv = ["-m", "shop.persistence.migrate", "--url", url.render_as_string(False)]
    code, output = _run(*argv, env={"THREEFOLD_DEBUG": "1"})
    assert code == 1
    assert "Traceback" in output and "does not exist" in output


def test_a_report_of_a_missing_folder_is_one_line(tmp_path):
    code, output = _run("-m", "loadtests", "report", str(tmp_path / "nope"))
    assert code == 2, output
    _readable(output, f"no folder {tmp_path / 'nope'}", "reports/<timestamp>", most_lines=1)


def test_a_report_of_the_parent_folder_names_the_run_folder_and_writes_nothing(tmp_path):
    run = tmp_path / "20260101-120000" / "monolith"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"stage": "monolith", "error": "interrupted"}')
    code, output = _run("-m", "loadtests", "report", str(tmp_path))
    assert code == 2, output
    _readable(output, "holds no stage results", f"did you mean {run.parent}", most_lines=1)
    assert not (tmp_path / "report.html").exists()
    assert not Path(run.parent / "report.html").exists()
