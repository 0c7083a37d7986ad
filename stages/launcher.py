"""The one launcher: start a stage's processes, wait until each is ready, stop them all.

Every process runs in its own process group, so stopping reaches its children
too (gunicorn's workers, say); a killed launcher leaves no orphan behind either
(stages/orphans.py). A process serves on a socket the launcher bound
(stages/listeners.py), and is given an identity, THREEFOLD_INSTANCE, that its
readiness answer must carry: an answer from any other process is refused. Each
output line is passed to a sink with the process's name, so several processes
can share one terminal (`orders | ...`) or one log file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shop.instance import INSTANCE_ENV
from stages.errors import LaunchError
from stages.listeners import Listener
from stages.orphans import Watchdog, child_setup, pdeathsig_in_use

__all__ = ["FileSink", "LaunchError", "Launcher", "ProcessSpec", "free_port", "run_step"]

ROOT = Path(__file__).resolve().parent.parent
Sink = Callable[[str, str], None]


@dataclass(frozen=True)
class ProcessSpec:
    """One process of a stage: what to run, where it listens, what to add to its environment.

    With a `listener` the process serves on that socket, handed over as its standard
    input (stages/listeners.py); without one it binds `port` itself.
    """

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/readyz"
    listener: Listener | None = None

    def __post_init__(self) -> None:
        if self.listener is not None and self.listener.port != self.port:
            raise ValueError(f"{self.name}: port {self.port} but its socket has {self.listener}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def print_sink(width: int = 14) -> Sink:
    """Write `name | line` to stdout; lines of different processes never interleave."""
    lock = threading.Lock()

    def sink(name: str, line: str) -> None:
        with lock:
            sys.stdout.write(f"{name:<{width}}| {line}\n")
            sys.stdout.flush()

    return sink


class FileSink:
    """Append `name | line` to a log file (tests and the demo keep the terminal quiet)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = path.open("a", buffering=1)
        self._lock = threading.Lock()

    def __call__(self, name: str, line: str) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.write(f"{name} | {line}\n")

    def close(self) -> None:
        with self._lock:
            self._handle.close()


class _Running:
    def __init__(self, spec: ProcessSpec, sink: Sink) -> None:
        self.spec = spec
        self.tail: deque[str] = deque(maxlen=40)
        self.instance = secrets.token_hex(8)  # which process a readiness answer must come from
        listener = spec.listener
        env = os.environ | {"PYTHONUNBUFFERED": "1"} | spec.env | {INSTANCE_ENV: self.instance}
        try:
            self.process = subprocess.Popen(
                spec.argv,
                cwd=ROOT,
                env=env,
                stdin=listener.socket().fileno() if listener else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_setup(),
            )
        finally:
            if listener is not None:
                listener.close()  # the process has it now; when it dies, the port closes
        self._pump = threading.Thread(target=self._read, args=(sink,), daemon=True)
        self._pump.start()

    def _read(self, sink: Sink) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            sink(self.spec.name, line)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until all the output of the exited process has reached the sink."""
        self._pump.join(timeout)
        if not self._pump.is_alive() and self.process.stdout is not None:
            self.process.stdout.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_report(self, when: str = "") -> str:
        """`<name> exited with code <n> [when]; its last output:` and its last lines."""
        code = self.process.returncode
        if code is not None and code < 0:
            code = f"{code} ({signal.Signals(-code).name})"
        self.drain()
        return f"{self.spec.name} exited with code {code}{when}; its last output:\n" + "\n".join(
            self.tail
        )

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


class Launcher:
    """Start processes, wait for `/readyz`, stop them all; use it as a context manager."""

    def __init__(
        self,
        specs: Iterable[ProcessSpec],
        sink: Sink | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.specs = list(specs)
        self.sink = sink or print_sink(max((len(s.name) for s in self.specs), default=8) + 1)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self._running: list[_Running] = []
        self._watchdog: Watchdog | None = None

    def __enter__(self) -> Launcher:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> None:
        try:
            if not pdeathsig_in_use():
                self._watchdog = Watchdog(grace=self.stop_timeout)
            for spec in self.specs:
                self._running.append(self._spawn(spec))
            for running in self._running:
                self._wait_ready(running)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, spec: ProcessSpec) -> _Running:
        running = _Running(spec, self.sink)
        if self._watchdog is not None:
            self._watchdog.watch(running.process.pid)  # its own group: the same number
        return running

    def _reaped(self, running: _Running) -> None:
        if self._watchdog is not None:
            self._watchdog.forget(running.process.pid)

    def _wait_ready(self, running: _Running) -> None:
        spec = running.spec
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no answer yet"
        with httpx.Client(trust_env=False) as client:
            while time.monotonic() < deadline:
                if not running.alive():
                    raise LaunchError(running.exit_report(" before it was ready"))
                try:
                    wait = min(2.0, max(0.1, deadline - time.monotonic()))
                    answer = client.get(spec.url + spec.ready_path, timeout=wait)
                    if answer.status_code == 200:
                        _check_identity(running, answer)
                        return
                    # the body says why (a function's readiness names the failing check)
                    why = answer.text.strip()[:300]
                    last_error = f"{spec.ready_path} answered {answer.status_code} {why}".rstrip()
                except httpx.TimeoutException:
                    last_error = "no answer"
                except httpx.HTTPError as error:
                    last_error = str(error) or type(error).__name__
                time.sleep(0.1)
        raise LaunchError(
            f"{spec.name} was not ready at {spec.url}{spec.ready_path} after "
            f"{self.ready_timeout:.0f}s ({last_error}); its last output:\n"
            + "\n".join(running.tail)
        )

    def _find(self, name: str) -> _Running:
        for running in self._running:
            if running.spec.name == name:
                return running
        raise KeyError(f"no running process named {name!r}")

    def send_signal(self, name: str, signum: int) -> None:
        """Signal one process's group and return at once (SIGTERM: a graceful stop begins)."""
        self._find(name).signal(signum)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Stop one process on purpose: fault injection.

        SIGKILL (the default) is a crash; SIGTERM is a graceful stop, as on a redeploy.
        """
        running = self._find(name)
        running.signal(signum)
        try:
            running.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            running.signal(signal.SIGKILL)
            running.process.wait()
        running.drain()
        self._reaped(running)

    def restart(self, name: str) -> None:
        """Start a killed (or exited) process again and wait until it is ready."""
        old = self._find(name)
        if old.alive():
            raise RuntimeError(f"{name} is still running")
        old.drain()
        self._reaped(old)
        fresh = self._spawn(old.spec)
        self._running[self._running.index(old)] = fresh
        self._wait_ready(fresh)

    def pids(self) -> dict[str, int]:
        """The process id of each running process, by name (the load tests' resource
        sampler reads them and their children)."""
        return {r.spec.name: r.process.pid for r in list(self._running) if r.alive()}

    def failed(self) -> list[str]:
        """Names of processes that have exited on their own."""
        return [r.spec.name for r in self._running if not r.alive()]

    def check(self) -> None:
        """Raise LaunchError, with its exit code and last output, if a process has exited."""
        for running in self._running:
            if not running.alive():
                raise LaunchError(running.exit_report())

    def wait(self) -> None:
        """Block until a process exits (or Ctrl-C); the caller then stops the rest."""
        while not self.failed():
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is still there after stop_timeout."""
        running, self._running = self._running, []
        for process in reversed(running):
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.signal(signal.SIGKILL)
                process.process.wait()
            process.signal(signal.SIGKILL)  # any grandchild left in the group
            process.drain()
            self._reaped(process)
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
        for spec in self.specs:  # sockets of processes never started
            if spec.listener is not None:
                spec.listener.close()
        if hasattr(self.sink, "close"):
            self.sink.close()


def run_step(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Run a one-off command (migrate, seed) to the end; raise with its output if it fails."""
    result = subprocess.run(
        argv,
        cwd=ROOT,
        env=os.environ | (env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LaunchError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def _check_identity(running: _Running, answer: httpx.Response) -> None:
    """Refuse a readiness answer that does not name the process the launcher started."""
    try:
        body = answer.json()
        claimed = body.get("instance") if isinstance(body, dict) else None
    except ValueError:
        claimed = None
    if claimed != running.instance:
        spec = running.spec
        raise LaunchError(
            f"{spec.name}: {spec.url}{spec.ready_path} was answered by another process "
            f"(instance {claimed!r}, not {running.instance!r}): something else serves "
            f"port {spec.port}"
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, for a process to bind.

    Racy: another process may take it before that. A stage plan binds its sockets
    itself instead (stages/listeners.py); give StageOptions port 0 for any free port.
    """
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
