"""Run Locust headless as a process of its own, and follow its progress.

Locust monkey-patches the standard library with gevent when it is imported,
so nothing here imports it: the runner, the report and the tests start it as
a child process (`python -m locust -f loadtests/locustfile.py ...`) and read
what it writes: the CSV files, the HTML report, and a small progress file
that the locustfile rewrites every second.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadtests.results import PREFIX
from stages.orphans import Watchdog, child_setup, pdeathsig_in_use

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
FAILURES_EXIT_CODE = 3  # Locust's exit code when the run finished but some requests failed
PACINGS = ("fixed", "think")
MASTER_PORT = 5557  # Locust's default: the workers connect to the master here
WORKERS_WAIT = 120  # seconds a distributed master waits for its workers before it gives up


class StopLoad(Exception):
    """Raised by an `on_progress` callback to end the run early (the capacity ramp, once a
    step broke its objective): Locust is stopped gracefully and its exit code returned."""


@dataclass(frozen=True)
class LoadSettings:
    """What load to send: a shape by name, its profile, and how each user is paced."""

    shape: str = "step"
    profile: str = "short"
    pacing: str = "fixed"  # fixed: `rate` tasks/s per user (open loop); think: 1-3 s think time
    rate: float = 3.0
    # 0: one Locust process runs the shoppers; N: a master that waits for N workers
    # (`worker_argv`) to connect, hands them the shoppers and writes the files
    workers: int = 0
    master_port: int = MASTER_PORT

    def describe(self) -> dict:
        """The shape's stages and duration, asked of loadtests.shapes in a child process
        (it imports locust); an unknown shape or profile raises ValueError."""
        done = subprocess.run(
            [sys.executable, "-m", "loadtests.shapes", self.shape, "--profile", self.profile],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ValueError(done.stderr.strip().splitlines()[-1] if done.stderr else "bad shape")
        return json.loads(done.stdout)


def locust_argv(host: str, folder: Path, settings: LoadSettings) -> list[str]:
    """The command line of one headless run whose output all goes into `folder`."""
    if settings.pacing not in PACINGS:
        raise ValueError(f"pacing must be one of {', '.join(PACINGS)}, not {settings.pacing!r}")
    return [
        sys.executable, "-m", "locust",
        "-f", str(LOCUSTFILE),
        "--host", host,
        "--headless", "--only-summary",
        "--csv", str(folder / PREFIX), "--csv-full-history",
        "--html", str(folder / "locust.html"),
        "--shape", settings.shape,
        "--load-profile", settings.profile,
        "--pacing", settings.pacing,
        "--rate", f"{settings.rate:g}",
        "--progress-file", str(folder / "progress.json"),
        "--stop-timeout", "10",
        "--exit-code-on-error", str(FAILURES_EXIT_CODE),
        "--loglevel", "WARNING",
        *(_master_options(settings) if settings.workers else []),
    ]  # fmt: skip


def _master_options(settings: LoadSettings) -> list[str]:
    return [
        "--master", "--master-bind-port", str(settings.master_port),
        "--expect-workers", str(settings.workers),
        "--expect-workers-max-wait", str(WORKERS_WAIT),
    ]  # fmt: skip


def worker_argv(
    master_host: str, master_port: int = MASTER_PORT, locustfile: Path = LOCUSTFILE
) -> list[str]:
    """The command line of one Locust worker: it takes its options (shape, pacing, rate,
    host) from the master; k8s/loadtest's worker Deployment runs this command."""
    return [
        sys.executable, "-m", "locust",
        "-f", str(locustfile),
        "--worker", "--master-host", master_host, "--master-port", str(master_port),
        "--loglevel", "WARNING",
    ]  # fmt: skip


def run_locust(
    argv: list[str],
    log: Path,
    on_progress: Callable[[dict], None] | None = None,
    progress_file: Path | None = None,
    timeout: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> int:
    """Run Locust to the end and return its exit code (0, or 3 when requests failed).

    Its output goes to `log`. `on_start`, if given, is passed Locust's process id
    once it runs (the resource sampler measures the load generator's own CPU).
    Every second the progress file, if given, is read and passed to `on_progress`,
    which may raise StopLoad to end the run there.
    Ctrl-C (or a timeout) stops Locust gracefully with SIGTERM (it still writes its
    CSV files), then by force.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with log.open("w") as output:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops Locust itself
            preexec_fn=child_setup(),
        )
        # As the launcher's children: Locust never outlives a killed runner (stages/orphans.py).
        watchdog = None if pdeathsig_in_use() else Watchdog(grace=15.0)
        if watchdog:
            watchdog.watch(process.pid)
        try:
            if on_start:
                on_start(process.pid)
            while True:
                try:
                    return process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"Locust still ran after {timeout:.0f}s")
                if on_progress and progress_file:
                    try:
                        with contextlib.suppress(OSError, ValueError):
                            on_progress(json.loads(progress_file.read_text()))
                    except StopLoad:
                        stop(process)
                        return process.returncode
        finally:
            stop(process)
            if watchdog:
                watchdog.forget(process.pid)
                watchdog.close()


def stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM Locust's process group (it shuts down and writes its files), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
