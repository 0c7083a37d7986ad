"""Ports are race-free and readiness proves it reached the process the launcher started.

A plan binds every listening socket itself when it is made and hands it to the
process, so no two processes can get one port, and a taken port fails at once.
Every process is given an identity (THREEFOLD_INSTANCE) that its readiness
answer must carry: an answer from any other process is refused.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from stages.definitions import STAGES, StageOptions, StagePlan
from stages.launcher import ROOT, Launcher, LaunchError
from stages.listeners import Listener, PortTaken
from tests.launcher.support import FAKE, Lines, dead, fake, fake_binding_itself, listening


def _bind_fails(port: int) -> bool:
    """True if nobody else can bind `port` now (it is held), as a second server would try."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            other.bind(("127.0.0.1", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
        return False


def _close(plan: StagePlan) -> None:
    for process in plan.processes:
        if process.listener is not None:
            process.listener.close()


def test_plans_made_at_the_same_time_hold_distinct_ports(tmp_path):
    """Twelve plans of every stage made at once: every port distinct and already held."""
    every = [name for name in STAGES for _ in range(4)]

    def make(name: str) -> StagePlan:
        return STAGES[name](StageOptions(port=0, data_dir=tmp_path / "data"))

    with ThreadPoolExecutor(max_workers=len(every)) as pool:
        plans = list(pool.map(make, every))
    try:
        ports = [process.port for plan in plans for process in plan.processes]
        assert len(ports) == len(set(ports)), "two processes were given the same port"
        for plan in plans:
            for process in plan.processes:
                # Held from the moment the plan exists: nobody can take it before the process.
                assert _bind_fails(process.port), f"{process.name}: port {process.port} is free"
                assert str(process.port) not in process.argv, "the process must not bind it"
            assert plan.url == plan.processes[-1].url  # the public process is the last one
    finally:
        for plan in plans:
            _close(plan)


def test_processes_started_at_the_same_time_each_serve_their_own_port():
    """Eight launchers at once: each process serves the socket it was given, and says so."""
    sinks = [Lines() for _ in range(8)]
    launchers = [Launcher([fake(f"p{i}"), fake(f"q{i}")], sink=sinks[i]) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(Launcher.start, launchers))
    try:
        served = {}
        for launcher, sink in zip(launchers, sinks, strict=True):
            for spec in launcher.specs:
                served[spec.name] = sink.number(spec.name, "listening on")
                assert served[spec.name] == spec.port
        assert len(set(served.values())) == 16
    finally:
        for launcher in launchers:
            launcher.stop()
    assert not any(listening(port) for port in served.values())


def test_a_taken_public_port_fails_at_once_naming_the_port(tmp_path):
    """`make run-monolith` twice: the second fails in one line, before any migration."""
    with socket.socket() as first:
        first.bind(("127.0.0.1", 0))
        first.listen()
        port = first.getsockname()[1]
        command = [sys.executable, "-m", "stages", "run", "monolith", "--port", str(port)]
        result = subprocess.run(
            [*command, "--data-dir", str(tmp_path / "data")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert output.count("\n") == 0, f"more than one line:\n{output}"
    assert f"port {port}" in output
    assert "in use" in output
    # At once: refused before anything was started, not after a process failed to bind.
    assert not (tmp_path / "data" / "monolith.sqlite").exists(), "it migrated first"


def test_listener_on_a_taken_port_raises_port_taken():
    held = Listener(0)
    try:
        with pytest.raises(PortTaken, match=f"port {held.port} "):
            Listener(held.port)
    finally:
        held.close()


def test_a_process_whose_own_port_is_taken_fails_the_launch_with_its_output():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sink = Lines()
        with pytest.raises(LaunchError) as raised:
            Launcher([fake_binding_itself("late", port)], sink=sink, ready_timeout=10).start()
    message = str(raised.value)
    assert "late exited with code 1" in message
    assert "Address already in use" in message  # its own last output lines
    assert dead(sink.number("late", "pid"))


@pytest.mark.parametrize(
    "option", [("--instance", "someone-else"), ("--anonymous",)], ids=["wrong", "none"]
)
def test_readiness_with_another_identity_is_refused(option):
    sink = Lines()
    impostor = fake("impostor", *option)
    launcher = Launcher([impostor], sink=sink, ready_timeout=10)
    with pytest.raises(LaunchError) as raised:
        launcher.start()
    message = str(raised.value)
    # Refused at once, on its first answer: not by the ready timeout, whose message differs.
    assert "was not ready" not in message, message
    assert "impostor" in message
    assert "another process" in message
    assert dead(sink.number("impostor", "pid"))


def test_a_port_answered_by_another_process_is_never_ready(tmp_path):
    """The incident: a process dies on a port another process answers; never 'ready'."""
    squatter = subprocess.Popen(
        [sys.executable, str(FAKE), "--port", "0", "--instance", "squatter"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert squatter.stdout is not None
        squatter.stdout.readline()  # pid
        port = int(squatter.stdout.readline().split()[-1])  # listening on <port>
        spec = fake_binding_itself("catalog", port, "--delay", "0.5")
        with pytest.raises(LaunchError) as raised:
            Launcher([spec], sink=Lines(), ready_timeout=10).start()
        assert "catalog" in str(raised.value)
    finally:
        squatter.kill()
        squatter.communicate(timeout=5)
