"""The launcher, with real processes: start, readiness, failure, stop, orphans, the CLI.

Every service here is tests/launcher/fake_service.py (a stdlib HTTP server), except
in the CLI tests, which run `python -m stages run monolith` end to end. Each test
checks that nothing it started is left running afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stages.launcher import ROOT, FileSink, Launcher, LaunchError, ProcessSpec, free_port

FAKE = Path(__file__).resolve().parent / "fake_service.py"


# --- helpers -------------------------------------------------------------------------------


def fake(name: str, *options: str, port: int | None = None) -> ProcessSpec:
    port = port or free_port()
    return ProcessSpec(name, [sys.executable, str(FAKE), "--port", str(port), *options], port)


class Lines:
    """A sink that keeps every (name, line) it is given."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, name: str, line: str) -> None:
        with self._lock:
            self.items.append((name, line))

    def of(self, name: str) -> list[str]:
        with self._lock:
            return [line for who, line in self.items if who == name]

    def number(self, name: str, prefix: str, timeout: float = 5.0) -> int:
        """The number in the first `<prefix> <number>` line of `name` (waiting for it)."""
        found = wait_for(
            lambda: next((ln for ln in self.of(name) if ln.startswith(prefix + " ")), None),
            timeout,
            f"{name} printing {prefix!r}",
        )
        return int(found.split()[1])


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def dead(pid: int) -> bool:
    """True once the process is gone, or a zombie (dead, waiting to be reaped by init)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return state.split()[1] in {"Z", "X"}


def assert_dies(pid: int, timeout: float = 5.0) -> None:
    wait_for(lambda: dead(pid), timeout, f"process {pid} to go away")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def assert_closes(port: int, timeout: float = 5.0) -> None:
    wait_for(lambda: not listening(port), timeout, f"port {port} to close")


def processes_mentioning(*needles: str) -> list[int]:
    """Live processes whose command line or environment contains one of the needles."""
    wanted = [needle.encode() for needle in needles]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if any(needle in blob for needle in wanted):
            found.append(int(entry.name))
    return found


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
    ("options", "cause"),
    [(("--status", "503"), "answered 503"), (("--no-listen",), "refused")],
    ids=["answers-503", "never-listens"],
)
def test_process_never_ready_times_out_and_is_stopped(options, cause):
    sink = Lines()
    other = fake("other")
    stuck = fake("stuck", *options)
    launcher = Launcher([other, stuck], sink=sink, ready_timeout=1)
    started = time.monotonic()
    with pytest.raises(LaunchError) as raised:
        launcher.start()
    assert time.monotonic() - started < 5
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
    assert 0.4 < took < 3, f"stop() took {took:.2f}s"
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
        started = time.monotonic()
        launcher.wait()
        assert time.monotonic() - started < 5
        assert launcher.failed() == ["short"]
    finally:
        launcher.stop()
    assert dead(sink.number("steady", "pid"))


# --- the launcher dying --------------------------------------------------------------------

LAUNCHER_PROGRAM = textwrap.dedent(
    """
    import sys, time
    from stages.launcher import Launcher, ProcessSpec

    port = int(sys.argv[2])
    spec = ProcessSpec("service", [sys.executable, sys.argv[1], "--port", str(port)], port)

    def sink(name, line):
        print(f"{name} | {line}", flush=True)

    Launcher([spec], sink=sink, ready_timeout=10).start()
    print("launcher ready", flush=True)
    time.sleep(600)
    """
)


def test_killed_launcher_leaves_no_orphan(tmp_path):
    port = free_port()
    output = tmp_path / "launcher.out"
    with output.open("w") as out:
        program = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER_PROGRAM, str(FAKE), str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    service = None
    try:
        wait_for(lambda: "launcher ready" in output.read_text(), 10, "the launcher")
        text = output.read_text()
        service = int(text.split("service | pid ")[1].split()[0])
        assert not dead(service)
        assert listening(port)
        program.kill()
        program.wait(5)
        assert_dies(service)
        assert_closes(port)
    finally:
        if program.poll() is None:
            program.kill()
            program.wait(5)
        if service is not None and not dead(service):
            os.kill(service, signal.SIGKILL)


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


# --- the CLI -------------------------------------------------------------------------------


def _start_cli(port: int, data_dir: Path, output: Path, env: dict[str, str]):
    def default_sigint() -> None:
        # A background shell starts its children with SIGINT ignored, and Python then never
        # turns SIGINT into KeyboardInterrupt; a terminal's Ctrl-C finds it at its default.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    command = [sys.executable, "-m", "stages", "run", "monolith"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with output.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=default_sigint,
        )


def _stop_cli(cli: subprocess.Popen) -> None:
    if cli.poll() is None:
        cli.kill()  # its processes get SIGTERM by PR_SET_PDEATHSIG
        cli.wait(10)


def _products_total(port: int) -> int:
    answer = httpx.get(f"http://127.0.0.1:{port}/api/products", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_runs_the_monolith_until_a_signal(tmp_path, signum):
    port = free_port()
    data_dir = (tmp_path / "data").resolve()
    output = tmp_path / "cli.out"
    # Unbuffered: see test_cli_ready_line_reaches_a_pipe_at_once for why it is needed.
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    cli = _start_cli(port, data_dir, output, env)
    leftovers = (f"BIND=127.0.0.1:{port}", str(data_dir))
    try:
        wait_for(
            lambda: "is ready at" in output.read_text() or cli.poll() is not None,
            60,
            "the CLI's ready line",
        )
        assert cli.poll() is None, output.read_text()
        assert f"is ready at http://127.0.0.1:{port}" in output.read_text()
        assert _products_total(port) >= 50
        assert len(processes_mentioning(*leftovers)) >= 2  # gunicorn's master and workers

        cli.send_signal(signum)
        code = cli.wait(15)
        text = output.read_text()
        assert code == 0, text
        assert text.rstrip().endswith("stopped"), text
        assert not listening(port)
        assert processes_mentioning(*leftovers) == []
    finally:
        _stop_cli(cli)


def test_cli_ready_line_reaches_a_pipe_at_once(tmp_path):
    port = free_port()
    output = tmp_path / "cli.out"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    cli = _start_cli(port, (tmp_path / "data").resolve(), output, env)
    try:

        def seeded() -> bool:
            assert cli.poll() is None, output.read_text()
            return listening(port) and _products_total(port) >= 50

        wait_for(seeded, 60, "the seeded catalog")
        # The line is printed right after seeding; give it a little slack.
        wait_for(lambda: "is ready at" in output.read_text(), 3, "the CLI's ready line")
    finally:
        cli.send_signal(signal.SIGTERM)
        try:
            cli.wait(15)
        finally:
            _stop_cli(cli)
