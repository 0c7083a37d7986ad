"""Helpers of the launcher tests: fake processes, waiting, and looking for leftovers."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from stages.launcher import ROOT, ProcessSpec
from stages.listeners import LISTEN_FD, Listener

FAKE = Path(__file__).resolve().parent / "fake_service.py"


def fake(name: str, *options: str, port: int = 0) -> ProcessSpec:
    """A fake service serving on a socket the launcher bound (port 0: any free port)."""
    listener = Listener(port)
    argv = [sys.executable, str(FAKE), "--fd", str(LISTEN_FD), *options]
    return ProcessSpec(name, argv, listener.port, listener=listener)


def fake_binding_itself(name: str, port: int, *options: str) -> ProcessSpec:
    """A fake service that binds `port` itself, as a process not started by a plan does."""
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
        return int(found.split()[-1])


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
        if any(needle in blob for needle in wanted) and not dead(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    """Clean up after a failed test: nothing it started may outlive it."""
    for pid in pids:
        if not dead(pid):
            os.kill(pid, signal.SIGKILL)


# --- `python -m stages run` ----------------------------------------------------------------


def start_cli(
    stage: str, port: int, data_dir: Path, output: Path, env: Mapping[str, str]
) -> subprocess.Popen:
    """`python -m stages run <stage>` in the background, its output into `output`."""

    def default_sigint() -> None:
        # A background shell starts its children with SIGINT ignored, and Python then never
        # turns SIGINT into KeyboardInterrupt; a terminal's Ctrl-C finds it at its default.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    command = [sys.executable, "-m", "stages", "run", stage]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with output.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=default_sigint,
        )


def stop_cli(cli: subprocess.Popen) -> None:
    if cli.poll() is None:
        cli.kill()  # its processes go too: PR_SET_PDEATHSIG, or the watchdog
        cli.wait(10)


def wait_until_ready(cli: subprocess.Popen, output: Path, timeout: float = 60) -> str:
    """The stage's URL from the CLI's ready line."""
    wait_for(
        lambda: "is ready at" in output.read_text() or cli.poll() is not None,
        timeout,
        "the CLI's ready line",
    )
    text = output.read_text()
    assert cli.poll() is None, text
    found = re.search(r"is ready at (http://127\.0\.0\.1:\d+)", text)
    assert found, text
    return found.group(1)


def products_total(url: str) -> int:
    answer = httpx.get(f"{url}/api/products", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]
