"""A launcher killed with SIGKILL leaves no process behind, with or without PR_SET_PDEATHSIG.

On Linux each child gets SIGTERM from the kernel when the launcher dies. Elsewhere
(macOS), and here with THREEFOLD_NO_PDEATHSIG=1, a watchdog process notices the
launcher is gone (its pipe closes) and stops every child's whole process group:
SIGTERM, then SIGKILL after the stop timeout, so even a child that ignores SIGTERM,
and the children it started, go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from stages.launcher import ROOT
from stages.orphans import pdeathsig_in_use
from tests.launcher.support import (
    FAKE,
    assert_closes,
    assert_dies,
    dead,
    kill_all,
    listening,
    wait_for,
)

LAUNCHER_PROGRAM = textwrap.dedent(
    """
    import sys, time
    from stages.launcher import Launcher, ProcessSpec
    from stages.listeners import LISTEN_FD, Listener

    listener = Listener(0)
    argv = [sys.executable, sys.argv[1], "--fd", str(LISTEN_FD), *sys.argv[2:]]
    spec = ProcessSpec("service", argv, listener.port, listener=listener)

    def sink(name, line):
        print(f"{name} | {line}", flush=True)

    Launcher([spec], sink=sink, ready_timeout=10, stop_timeout=1).start()
    print("launcher ready", flush=True)
    time.sleep(600)
    """
)


def _line(text: str, prefix: str) -> int:
    return int(text.split(prefix)[1].split()[0])


@pytest.mark.parametrize(
    ("fallback", "options"),
    [
        (False, ()),
        (True, ()),
        (True, ("--child", "--ignore-term")),  # PR_SET_PDEATHSIG's SIGTERM would not do
    ],
    ids=["pdeathsig", "watchdog", "watchdog-stubborn-group"],
)
def test_killed_launcher_leaves_no_process(tmp_path, fallback, options):
    output = tmp_path / "launcher.out"
    env = os.environ | ({"THREEFOLD_NO_PDEATHSIG": "1"} if fallback else {})
    with output.open("w") as out:
        program = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER_PROGRAM, str(FAKE), *options],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started: list[int] = []
    try:
        wait_for(
            lambda: "service | listening on" in output.read_text() or program.poll() is not None,
            10,
            "the service",
        )
        text = output.read_text()
        assert program.poll() is None, text
        started.append(_line(text, "service | pid "))
        if "--child" in options:
            started.append(_line(text, "service | child "))
        port = _line(text, "service | listening on ")
        assert listening(port)
        assert not any(dead(pid) for pid in started)

        program.kill()
        program.wait(5)
        for pid in started:
            assert_dies(pid, timeout=5)
        assert_closes(port)
    finally:
        if program.poll() is None:
            program.kill()
            program.wait(5)
        kill_all(started)


def test_the_linux_call_is_used_only_where_it_exists_and_not_when_switched_off(monkeypatch):
    monkeypatch.delenv("THREEFOLD_NO_PDEATHSIG", raising=False)
    assert pdeathsig_in_use() == sys.platform.startswith("linux")
    monkeypatch.setenv("THREEFOLD_NO_PDEATHSIG", "1")
    assert not pdeathsig_in_use()
