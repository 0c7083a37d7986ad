"""The launcher, with real processes: start, readiness, failure, stop, sinks.

Every service here is tests/launcher/fake_service.py (a stdlib HTTP server) on a
socket the launcher bound. Each test checks that nothing it started is left
running afterwards. Ports and identity: test_ports.py; a killed launcher:
test_orphans.py; `python -m stages run`: test_cli.py.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from stages.launcher import FileSink, Launcher, LaunchError, free_port
from tests.launcher.support import (
    Lines,
    assert_dies,
    dead,
    fake,
    fake_binding_itself,
    listening,
    wait_for,
)

# --- start, ready, stop --------------------------------------------------------------------


def test_starts_processes_waits_until_ready_and_stops_them():
    sink = Lines()
    specs = [fake("alpha", "--delay", "0.3"), fake("beta")]
    launcher = Launcher(specs, sink=sink, ready_timeout=10)
    launcher.start()
    try:
        pids = [sink.number(spec.name, "pid") for spec in specs]
        for spec in specs:
            answer = httpx.get(spec.url + "/readyz", timeout=2)
            assert answer.status_code == 200
        assert launcher.failed() == []
    finally:
        launcher.stop()
    for pid in pids:
        assert dead(pid), f"process {pid} still runs after stop()"
    for spec in specs:
        assert not listening(spec.port), f"{spec.name} still listens on {spec.port}"


def test_works_as_a_context_manager():
    spec = fake("alpha")
    with Launcher([spec], sink=Lines(), ready_timeout=10):
        assert httpx.get(spec.url + "/readyz", timeout=2).status_code == 200
    assert not listening(spec.port)


# --- failures while starting ---------------------------------------------------------------


def test_process_exiting_before_ready_raises_and_stops_the_others():
    sink = Lines()
    good = fake("good")
    doomed = fake("doomed", "--exit-code", "3", "--lines", "3")
    launcher = Launcher([good, doomed], sink=sink, ready_timeout=10)
    with pytest.raises(LaunchError) as raised:
        launcher.start()
    message = str(raised.value)
    assert "doomed" in message
    assert "code 3" in message
    assert "last words" in message
    good_pid = sink.number("good", "pid")
    assert dead(good_pid), "the process that was ready was not stopped"
    assert not listening(good.port)
    assert dead(sink.number("doomed", "pid"))


def test_exit_message_has_the_last_line_even_with_a_slow_sink():
    def slow_sink(_name: str, _line: str) -> None:
        time.sleep(0.1)

    # The pump needs ~0.6s for these lines, well within stop()'s one-second join.
    doomed = fake("doomed", "--exit-code", "3", "--lines", "5")
    with pytest.raises(LaunchError) as raised:
        Launcher([doomed], sink=slow_sink, ready_timeout=10).start()
    assert "last words" in str(raised.value)


@pytest.mark.parametrize(
    ("options", "bound", "cause"),
    [
        (("--status", "503"), True, "answered 503"),
        (("--no-listen",), True, "no answer"),  # the socket queues, nobody accepts
        (("--no-listen",), False, "refused"),  # a process meant to bind its own port
    ],
    ids=["answers-503", "never-serves", "never-binds"],
)
def test_process_never_ready_times_out_and_is_stopped(options, bound, cause):
    sink = Lines()
    other = fake("other")
    stuck = (
        fake("stuck", *options) if bound else fake_binding_itself("stuck", free_port(), *options)
    )
    launcher = Launcher([other, stuck], sink=sink, ready_timeout=1)
    with pytest.raises(LaunchError) as raised:
        launcher.start()
    message = str(raised.value)
    assert "stuck" in message
    assert "not ready" in message
    assert "after 1s" in message
    assert cause in message
    for name in ("other", "stuck"):
        assert dead(sink.number(name, "pid"))
    assert not listening(other.port)
    assert not listening(stuck.port)


# --- stopping ------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--child", "--child-ignores-term"])
def test_stop_reaches_grandchildren(option):
    sink = Lines()
    launcher = Launcher([fake("parent", option)], sink=sink, ready_timeout=10)
    launcher.start()
    try:
        parent = sink.number("parent", "pid")
        grandchild = sink.number("parent", "child")
        assert not dead(grandchild)
    finally:
        launcher.stop()
    assert dead(parent)
    assert_dies(grandchild)


def test_process_ignoring_sigterm_is_killed_after_stop_timeout():
    sink = Lines()
    stubborn = fake("stubborn", "--ignore-term")
    launcher = Launcher([stubborn], sink=sink, ready_timeout=10, stop_timeout=0.5)
    launcher.start()
    pid = sink.number("stubborn", "pid")
    started = time.monotonic()
    launcher.stop()
    took = time.monotonic() - started
    # It got its stop_timeout (a lower bound, which a busy machine cannot break), then
    # SIGKILL: a process that ignores SIGTERM is dead only if it was killed.
    assert took >= 0.5, f"killed after {took:.2f}s, before its stop_timeout"
    assert dead(pid)
    assert not listening(stubborn.port)


def test_stop_with_a_lagging_sink_leaves_no_thread_exception(monkeypatch):
    failures: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    delivered: list[str] = []

    def slow_sink(_name: str, line: str) -> None:
        time.sleep(0.01)
        delivered.append(line)

    # 200 lines at 10 ms each keep the pump busy for ~2s after the process has stopped.
    launcher = Launcher([fake("chatty", "--chatter", "200")], sink=slow_sink, ready_timeout=10)
    launcher.start()
    launcher.stop()
    wait_for(lambda: "chatter 200" in delivered or failures, 5, "the pump to finish")
    assert failures == []
    assert "chatter 200" in delivered


def test_wait_returns_when_a_process_exits_on_its_own():
    sink = Lines()
    launcher = Launcher([fake("steady"), fake("short", "--die-after", "0.3")], sink=sink)
    launcher.start()
    try:
        steady = sink.number("steady", "pid")
        launcher.wait()
        assert launcher.failed() == ["short"]
        assert not dead(steady), "wait() returned for the one that exited, not for all"
        with pytest.raises(LaunchError, match=r"short exited with code 4; its last output:"):
            launcher.check()  # what `python -m stages run` reports, then exits 1
    finally:
        launcher.stop()
    assert dead(sink.number("steady", "pid"))


def test_a_killed_process_closes_its_port_and_a_restart_serves_it_again():
    sink = Lines()
    spec = fake("flaky")
    launcher = Launcher([spec], sink=sink, ready_timeout=10)
    launcher.start()
    try:
        first = sink.number("flaky", "pid")
        launcher.kill("flaky")
        assert dead(first)
        assert not listening(spec.port), "the launcher kept the socket: callers would hang"
        assert launcher.failed() == ["flaky"]
        launcher.restart("flaky")  # binds the same port again, waits for the new identity
        pids = [int(line.split()[1]) for line in sink.of("flaky") if line.startswith("pid ")]
        assert len(pids) == 2 and pids[1] != first
        assert httpx.get(spec.url + "/readyz", timeout=2).status_code == 200
        assert launcher.failed() == []
    finally:
        launcher.stop()
    assert dead(pids[1])
    assert not listening(spec.port)


# --- sinks ---------------------------------------------------------------------------------


def test_sink_gets_each_line_with_the_process_name():
    sink = Lines()
    specs = [fake("alpha"), fake("beta")]
    with Launcher(specs, sink=sink, ready_timeout=10):
        for spec in specs:
            expected = f"listening on {spec.port}"
            wait_for(lambda s=spec, e=expected: e in sink.of(s.name), 5, expected)
    assert {name for name, _line in sink.items} == {"alpha", "beta"}
    for spec in specs:
        lines = sink.of(spec.name)
        assert lines[0].startswith("pid ")
        assert f"listening on {spec.port}" in lines
        assert all(not line.endswith("\n") for line in lines)


def test_file_sink_writes_name_and_line_and_is_closed_by_stop(tmp_path):
    log = tmp_path / "logs" / "stage.log"
    sink = FileSink(log)
    spec = fake("alpha")
    launcher = Launcher([spec], sink=sink, ready_timeout=10)
    launcher.start()
    try:
        wait_for(
            lambda: f"alpha | listening on {spec.port}\n" in log.read_text(), 5, "the log line"
        )
    finally:
        launcher.stop()
    lines = log.read_text().splitlines()
    assert lines[0].startswith("alpha | pid ")
    assert f"alpha | listening on {spec.port}" in lines
    sink("late", "after stop")  # a closed sink drops what it is given
    assert "after stop" not in log.read_text()
