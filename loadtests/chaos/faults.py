"""Faults injected into a running stage on a schedule, while the load runs.

Three kinds, each undone before the next one starts:

- `kill`: SIGKILL to a process (a crash: no cleanup, requests cut off), then,
  after `seconds`, the launcher starts it again and waits until it is ready;
- `pause`: SIGSTOP for `seconds`, then SIGCONT (a process that hangs: its
  connections stay open, its callers time out, then it carries on as if
  nothing happened);
- `kill-worker`: SIGKILL to one gunicorn worker; its master starts another
  (the monolith's own recovery).

The provider's faults (latency, failures) are settings of the process that
charges, for the whole run (PAYMENTS_PROCESS).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from stages.launcher import Launcher, LaunchError


@dataclass(frozen=True)
class Fault:
    action: str  # kill, pause or kill-worker (see the module's docstring)
    target: str  # a process of the stage plan
    seconds: float = 1.0  # kill: down this long before the restart; pause: stopped this long

    def __post_init__(self) -> None:
        if self.action not in ("kill", "pause", "kill-worker"):
            raise ValueError(f"unknown fault {self.action!r}")


# Longer than the broker's whole retry span for these triggers (5 retries from 0.2 s,
# doubling: 6.2 s, k8s/functions/broker.yaml): their events end as dead letters.
FOLLOW_UP_DOWN = 7.0
# Per stage, in the order they are injected (then again from the top). The first two are a
# kill and a pause, so that even a short run has both. Targets: where the saga's state
# changes (the monolith is one process; a saga's steps and the broker in the others).
PLANS: dict[str, tuple[Fault, ...]] = {
    "monolith": (
        Fault("kill", "monolith", 1.0),
        Fault("pause", "monolith", 2.0),
        Fault("kill-worker", "monolith"),
    ),
    "microservices": (
        Fault("kill", "orders", 1.0),
        Fault("pause", "payments", 8.0),  # longer than orders' PAYMENT_TIMEOUT (2 s)
        Fault("kill", "payments", 1.0),
        Fault("pause", "inventory", 2.0),
        Fault("kill", "inventory", 1.0),
        Fault("kill", "notifications", 1.0),
        Fault("pause", "orders", 2.0),
    ),
    "functions": (
        Fault("kill", "charge-payment", 1.0),
        Fault("pause", "broker", 2.0),
        Fault("kill", "commit-stock", FOLLOW_UP_DOWN),
        Fault("kill", "broker", 1.0),
        Fault("kill", "notify-customer", FOLLOW_UP_DOWN),
        Fault("pause", "charge-payment", 3.0),
        Fault("kill", "release-stock", FOLLOW_UP_DOWN),
        Fault("kill", "reserve-stock", 1.0),
        Fault("kill", "finalize-order", 1.0),
    ),
}
# The process that runs the simulated payment provider: PAYMENT_LATENCY_MS and
# PAYMENT_FAILURE_RATE are set there.
PAYMENTS_PROCESS = {
    "monolith": "monolith",
    "microservices": "payments",
    "functions": "charge-payment",
}


@dataclass(frozen=True)
class FaultEvent:
    at: float  # seconds since the faults began (the load's start)
    what: str  # SIGKILL, restarted, SIGSTOP, SIGCONT, exited on its own, not back
    target: str
    detail: str = ""

    def line(self) -> str:
        return f"fault +{self.at:5.1f} s  {self.what:<17} {self.target}" + (
            f"  ({self.detail})" if self.detail else ""
        )


def gunicorn_workers(pidfile: Path) -> list[int]:
    """The worker pids of the gunicorn master whose pid is in `pidfile` (none if it is gone)."""
    try:
        master = psutil.Process(int(pidfile.read_text().strip()))
        return [child.pid for child in master.children() if child.is_running()]
    except (OSError, ValueError, psutil.Error):
        return []


class FaultInjector:
    """Runs a plan of faults in a thread: one every `every` seconds, from `first_after` until
    `until` seconds after start(), each one undone before the next. A process that exits
    on its own meanwhile is reported and started again. stop() undoes the fault under way
    (restart, SIGCONT) at once and waits for it; close() ends the thread, after the stage
    has stopped."""

    def __init__(
        self,
        launcher: Launcher,
        plan: Sequence[Fault],
        every: float,
        first_after: float,
        until: float,
        on_event: Callable[[FaultEvent], None] = lambda _event: None,
        workers: Callable[[str], list[int]] = lambda _target: [],
    ) -> None:
        if not plan:
            raise ValueError("a fault plan needs at least one fault")
        self.launcher = launcher
        self.plan = list(plan)
        self.every = every
        self.first_after = first_after
        self.until = until
        self.on_event = on_event
        self.workers = workers
        self.events: list[FaultEvent] = []
        self.broken: list[str] = []  # processes that did not come back
        self._stop = threading.Event()
        self._idle = threading.Event()  # stopped, and the last fault undone
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """No more faults: the one under way is undone at once; returns when it is."""
        self._stop.set()
        if self._thread.is_alive():
            self._idle.wait()

    def close(self) -> None:
        """End the thread, once the stage is stopped. A process started again here gets
        SIGTERM when THIS thread ends (the launcher's PR_SET_PDEATHSIG is per thread)."""
        self._stop.set()
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join()

    def injected(self) -> list[FaultEvent]:
        return [e for e in self.events if e.what in ("SIGKILL", "SIGSTOP")]

    def as_list(self) -> list[dict]:
        return [asdict(event) for event in self.events]

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _event(self, what: str, target: str, detail: str = "") -> None:
        event = FaultEvent(round(self._elapsed(), 2), what, target, detail)
        self.events.append(event)
        self.on_event(event)

    def _run(self) -> None:
        next_at, index = self.first_after, 0
        try:
            while not self._stop.wait(0.2):
                self._restart_exited()
                now = self._elapsed()
                if next_at <= now < self.until and not self.broken:
                    self._inject(self.plan[index % len(self.plan)])
                    index += 1
                    next_at = self._elapsed() + self.every
        finally:
            self._idle.set()
        self._closed.wait()  # lives as long as the processes it started (see close)

    def _inject(self, fault: Fault) -> None:
        if fault.action == "kill":
            self._kill(fault)
        elif fault.action == "pause":
            self._pause(fault)
        else:
            self._kill_worker(fault)

    def _kill(self, fault: Fault) -> None:
        self._event("SIGKILL", fault.target, "a crash")
        self.launcher.kill(fault.target, signal.SIGKILL)
        self._stop.wait(fault.seconds)
        self._restart(fault.target)

    def _restart(self, target: str) -> None:
        started = time.monotonic()
        try:
            self.launcher.restart(target)
        except LaunchError as error:
            self.broken.append(target)
            self._event("not back", target, str(error).splitlines()[0])
            return
        self._event("restarted", target, f"ready again in {time.monotonic() - started:.1f} s")

    def _pause(self, fault: Fault) -> None:
        self.launcher.send_signal(fault.target, signal.SIGSTOP)
        self._event("SIGSTOP", fault.target, f"paused for {fault.seconds:g} s")
        try:
            self._stop.wait(fault.seconds)
        finally:
            self.launcher.send_signal(fault.target, signal.SIGCONT)
            self._event("SIGCONT", fault.target, "carries on")

    def _kill_worker(self, fault: Fault, timeout: float = 20.0) -> None:
        before = self.workers(fault.target)
        if not before:
            self._event("no worker", fault.target, "no gunicorn worker found: nothing killed")
            return
        victim = random.choice(before)
        os.kill(victim, signal.SIGKILL)
        self._event("SIGKILL", f"{fault.target} worker", f"pid {victim} of {before}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.workers(fault.target)
            if victim not in now and len(now) >= len(before):
                new = sorted(set(now) - set(before))
                self._event("restarted", f"{fault.target} worker", f"gunicorn started pid {new}")
                return
            time.sleep(0.1)
        self.broken.append(f"{fault.target} worker")
        self._event("not back", f"{fault.target} worker", f"no new worker in {timeout:g} s")

    def _restart_exited(self) -> None:
        for name in self.launcher.failed():
            if name in self.broken:
                continue
            self._event("exited on its own", name, "not a fault injected here")
            self.launcher.kill(name)  # collects its output; it has exited already
            self._restart(name)
