"""`python -m stages run`, end to end with the real monolith: ready, signals, failures.

Each test runs with Linux's PR_SET_PDEATHSIG and with it switched off
(THREEFOLD_NO_PDEATHSIG=1, what macOS gets: the portable watchdog) where it matters.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.launcher.support import (
    kill_all,
    listening,
    processes_mentioning,
    products_total,
    start_cli,
    stop_cli,
    wait_for,
    wait_until_ready,
)

# Unbuffered: see test_cli_ready_line_reaches_a_pipe_at_once for why it is needed.
UNBUFFERED = os.environ | {"PYTHONUNBUFFERED": "1"}
WITHOUT_PDEATHSIG = {"THREEFOLD_NO_PDEATHSIG": "1"}


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("fallback", [False, True], ids=["pdeathsig", "watchdog"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_runs_the_monolith_until_a_signal(tmp_path, signum, fallback):
    data_dir = (tmp_path / "data").resolve()
    output = tmp_path / "cli.out"
    env = UNBUFFERED | (WITHOUT_PDEATHSIG if fallback else {})
    cli = start_cli("monolith", 0, data_dir, output, env)
    leftovers = (str(data_dir),)  # in every process's DATABASE_URL
    try:
        url = wait_until_ready(cli, output)
        assert products_total(url) >= 50
        assert len(processes_mentioning(*leftovers)) >= 2  # gunicorn's master and workers

        cli.send_signal(signum)
        code = cli.wait(15)
        text = output.read_text()
        assert code == 0, text
        assert text.rstrip().endswith("stopped"), text
        assert not listening(_port(url))
        wait_for(lambda: processes_mentioning(*leftovers) == [], 5, "no process left")
    finally:
        stop_cli(cli)
        kill_all(processes_mentioning(*leftovers))


def test_cli_ready_line_reaches_a_pipe_at_once(tmp_path):
    output = tmp_path / "cli.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    data_dir = (tmp_path / "data").resolve()
    cli = start_cli("monolith", 0, data_dir, output, env)
    try:
        # The stage's port is not known before the ready line; find the seeded database.
        def seeded() -> bool:
            assert cli.poll() is None, output.read_text()
            return (data_dir / "monolith.sqlite").exists() and len(
                processes_mentioning(str(data_dir))
            ) >= 2

        wait_for(seeded, 60, "the monolith's processes")
        # The line is printed right after seeding; give it a little slack.
        wait_for(lambda: "is ready at" in output.read_text(), 30, "the CLI's ready line")
    finally:
        cli.send_signal(signal.SIGTERM)
        try:
            cli.wait(15)
        finally:
            stop_cli(cli)
            kill_all(processes_mentioning(str(data_dir)))


def _gunicorn_master(cli_pid: int, data_dir: Path) -> int:
    for pid in processes_mentioning(str(data_dir)):
        stat = Path(f"/proc/{pid}/stat").read_text()
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == cli_pid and b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no gunicorn master under the CLI")


def test_a_process_exiting_after_ready_makes_the_cli_fail(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    output = tmp_path / "cli.out"
    cli = start_cli("monolith", 0, data_dir, output, UNBUFFERED)
    try:
        url = wait_until_ready(cli, output)
        os.kill(_gunicorn_master(cli.pid, data_dir), signal.SIGKILL)
        code = cli.wait(15)
        text = output.read_text()
        assert code != 0, text
        assert "monolith exited with code -9 (SIGKILL)" in text
        assert "Booting worker" in text.split("monolith exited with code")[1]  # its last lines
        assert not listening(_port(url))
        wait_for(lambda: processes_mentioning(str(data_dir)) == [], 5, "no process left")
    finally:
        stop_cli(cli)
        kill_all(processes_mentioning(str(data_dir)))
