"""The fault injector against real processes (the launcher tests' stand-in service).

Each fault must really happen and be undone: a killed process comes back as a new
process, a paused one is seen stopped by the kernel and running again after, stop()
in the middle of a pause resumes it at once, and a process that exits by itself is
reported and started again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from loadtests.chaos.faults import Fault, FaultEvent, FaultInjector
from stages.launcher import Launcher, ProcessSpec, free_port
from tests.support.waiting import eventually

FAKE = Path(__file__).resolve().parents[1] / "launcher" / "fake_service.py"


def fake(name: str, *options: str) -> ProcessSpec:
    port = free_port()
    return ProcessSpec(name, [sys.executable, str(FAKE), "--port", str(port), *options], port)


class Pids:
    """A launcher sink that keeps each process's pids, from its `pid <n>` lines."""

    def __init__(self) -> None:
        self.of: dict[str, list[int]] = {}

    def __call__(self, name: str, line: str) -> None:
        if line.startswith("pid "):
            self.of.setdefault(name, []).append(int(line.split()[1]))


def status(pid: int) -> str:
    return psutil.Process(pid).status()


def wait_until(holds, timeout: float = 15.0) -> None:
    def check() -> None:
        assert holds()

    eventually(check, timeout=timeout, interval=0.05)


def whats(events: list[FaultEvent]) -> list[tuple[str, str]]:
    return [(event.what, event.target) for event in events]


@pytest.fixture
def pids():
    return Pids()


def test_a_kill_restarts_and_a_pause_stops_then_resumes(pids):
    seen_paused = []

    def watch(event: FaultEvent) -> None:
        if event.what == "SIGSTOP":  # (the kernel stops it as soon as it is scheduled)
            pid = pids.of["paused"][-1]
            wait_until(lambda: status(pid) == psutil.STATUS_STOPPED)
            seen_paused.append(status(pid))

    with Launcher([fake("killed"), fake("paused")], sink=pids) as launcher:
        plan = [Fault("kill", "killed", 0.2), Fault("pause", "paused", 0.5)]
        injector = FaultInjector(launcher, plan, every=0.1, first_after=0.1, until=30.0,
                                 on_event=watch)  # fmt: skip
        injector.start()
        wait_until(lambda: len(injector.injected()) == 2)
        injector.stop()
        # The restarted process outlives stop(): the thread that started it is still there
        # (PR_SET_PDEATHSIG would SIGTERM it when that thread ends); close() comes later.
        time.sleep(0.5)
        assert whats(injector.events)[:4] == [
            ("SIGKILL", "killed"),
            ("restarted", "killed"),
            ("SIGSTOP", "paused"),
            ("SIGCONT", "paused"),
        ]
        first, second = pids.of["killed"]
        assert not psutil.pid_exists(first) or status(first) == psutil.STATUS_ZOMBIE
        assert status(second) != psutil.STATUS_STOPPED
        assert seen_paused == [psutil.STATUS_STOPPED]
        assert status(pids.of["paused"][-1]) != psutil.STATUS_STOPPED
        assert launcher.failed() == [], launcher.failed()
    injector.close()


def test_stop_during_a_pause_resumes_the_process_at_once(pids):
    with Launcher([fake("paused")], sink=pids) as launcher:
        injector = FaultInjector(launcher, [Fault("pause", "paused", 60.0)], 1.0, 0.0, 5.0)
        injector.start()
        wait_until(lambda: injector.injected())
        wait_until(lambda: status(pids.of["paused"][0]) == psutil.STATUS_STOPPED)
        injector.stop()
        assert whats(injector.events) == [("SIGSTOP", "paused"), ("SIGCONT", "paused")]
        stopped, resumed = injector.events
        # On the injector's own clock: resumed by stop(), long before the pause was over.
        assert resumed.at < stopped.at + 60.0, injector.events
        assert status(pids.of["paused"][0]) != psutil.STATUS_STOPPED
    injector.close()


def test_a_process_that_exits_by_itself_is_reported_and_started_again(pids):
    with Launcher([fake("fragile", "--die-after", "2")], sink=pids) as launcher:
        injector = FaultInjector(launcher, [Fault("pause", "fragile", 0.1)], 1.0, 30.0, 30.0)
        injector.start()
        wait_until(lambda: len(pids.of.get("fragile", [])) >= 2)
        injector.stop()
        assert ("exited on its own", "fragile") in whats(injector.events)
        assert ("restarted", "fragile") in whats(injector.events)
        assert injector.injected() == []  # the pause was never due
    injector.close()


def test_an_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("flood", "orders")
