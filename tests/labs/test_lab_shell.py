"""The labs' shell: one state across commands, failures and hangs reported, and a
process the lab left running found (and killed)."""

from __future__ import annotations

import os

import pytest

from tests.labs.lab_shell import CommandFailed, LabShell


@pytest.fixture
def shell(tmp_path):
    shell = LabShell(tmp_path, dict(os.environ))
    yield shell
    shell.close(stop_within=2)


def test_commands_share_one_shell_state(shell):
    shell.run("export GREETING=hello && cd /", timeout=10)
    assert shell.run("echo $GREETING $PWD", timeout=10) == "hello /\n"


def test_a_failing_command_fails_with_its_output(shell):
    with pytest.raises(CommandFailed, match="exited with 3; its output:\nboom"):
        shell.run("echo boom; (exit 3)", timeout=10)


def test_a_command_past_its_timeout_fails(shell):
    with pytest.raises(CommandFailed, match="did not finish within 1 s"):
        shell.run("sleep 30", timeout=1)


def test_a_process_left_running_is_reported_and_killed(tmp_path):
    shell = LabShell(tmp_path, dict(os.environ))
    shell.run("sleep 300 &", timeout=10)
    left = shell.close(stop_within=0.5)
    assert len(left) == 1 and "sleep 300" in left[0]


def test_a_job_stopped_with_kill_leaves_nothing(tmp_path):
    shell = LabShell(tmp_path, dict(os.environ))
    shell.run("sh -c 'sleep 300' &", timeout=10)
    shell.run("kill %1; wait", timeout=10)
    assert shell.close(stop_within=5) == []
