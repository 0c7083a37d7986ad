"""CPU seconds and resident memory of every process of a stage, sampled while the load runs.

A stage started here is a set of processes the launcher knows by name (a
*component*: `monolith`, `orders`, `gateway`, `reserve-stock`, ...). Every
second the sampler reads, through psutil, each component's process and all
its descendants (gunicorn's workers, say):

- `cpu_seconds`: the CPU time (user + system) the process has used since it
  started, cumulative, so any two samples give the CPU spent between them;
- `rss_bytes`: its resident memory at that moment.

Locust's own processes are sampled too, with the role `locust` instead of
`stage`: never counted in the stage's figures, but kept so that a run can say
when the load generator itself was short of CPU. So is the whole machine (role
`host`, pid 0: the busy CPU seconds of all its cores, and the memory in use),
so that a run can say when other work than the stage and Locust took the cores.

One row per process and sample goes to resources.csv beside Locust's files,
written as it comes, so a run cut short keeps what it saw. What the rows mean
(CPU per request, memory at rest and under load, the hot component) is
worked out by loadtests.resource_use.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # psutil is imported where processes are read, not where the CSV is
    import psutil

FILE_NAME = "resources.csv"
# The roles: the stage's processes, the load generator's, and the whole machine.
STAGE, LOCUST, HOST = "stage", "locust", "host"


@dataclass(frozen=True)
class ProcessUsage:
    """One process at one moment.

    time         -- seconds since the epoch when the sample was taken (one per sampling tick)
    role         -- "stage" or "locust"
    component    -- the launcher's name of the process it is (or descends from)
    pid          -- the process id
    cpu_seconds  -- user + system CPU seconds used since the process started
    rss_bytes    -- resident set size
    """

    time: float
    role: str
    component: str
    pid: int
    cpu_seconds: float
    rss_bytes: int


class ResourceSampler:
    """Reads the CPU time and memory of named process trees.

    `stage` is asked at every sample for {component: pid} of the stage's running
    processes (the launcher's `pids`), so a restarted process is followed; Locust's
    process is added with `add` once it has started. With `host`, each sample also
    has one row for the whole machine.
    """

    def __init__(
        self,
        stage: Callable[[], dict[str, int]] = dict,
        clock: Callable[[], float] = time.time,
        host: bool = False,
    ) -> None:
        self.stage = stage
        self.clock = clock
        self.host = host
        self._extra: dict[tuple[str, str], int] = {}
        self._known: dict[int, psutil.Process] = {}  # kept: psutil checks a pid was not reused

    def add(self, role: str, component: str, pid: int) -> None:
        self._extra[(role, component)] = pid

    def _process(self, pid: int) -> psutil.Process:
        import psutil

        known = self._known.get(pid)
        if known is None or not known.is_running():
            known = self._known[pid] = psutil.Process(pid)
        return known

    def _tree(self, pid: int) -> list[psutil.Process]:
        import psutil

        try:
            root = self._process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:  # gone between the launcher's answer and this read
            return []

    def sample(self) -> list[ProcessUsage]:
        import psutil

        now = self.clock()
        roots = [(STAGE, name, pid) for name, pid in self.stage().items()]
        roots += [(role, name, pid) for (role, name), pid in self._extra.items()]
        found = [_host(now)] if self.host else []
        for role, component, pid in roots:
            for process in self._tree(pid):
                try:
                    with process.oneshot():
                        if process.status() == psutil.STATUS_ZOMBIE:
                            continue
                        cpu = process.cpu_times()
                        rss = process.memory_info().rss
                except psutil.Error:  # exited while being read: its last sample stands
                    continue
                found.append(
                    ProcessUsage(now, role, component, process.pid, cpu.user + cpu.system, rss)
                )
        return found


def _host(now: float) -> ProcessUsage:
    """The machine: CPU seconds all its cores spent busy (not idle, not waiting for a disk)
    since it booted, and the memory in use."""
    import psutil

    cpu = psutil.cpu_times()
    busy = cpu.user + cpu.nice + cpu.system + cpu.irq + cpu.softirq + cpu.steal
    return ProcessUsage(now, HOST, "host", 0, busy, psutil.virtual_memory().used)


COLUMNS = [f.name for f in fields(ProcessUsage)]


class UsageWriter:
    """Append samples to resources.csv as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("w", newline="", buffering=1)
        self._csv = csv.DictWriter(self._handle, fieldnames=COLUMNS)
        self._csv.writeheader()

    def write(self, samples: Iterable[ProcessUsage]) -> None:
        for sample in samples:
            row = asdict(sample)
            row["time"] = f"{sample.time:.3f}"
            row["cpu_seconds"] = f"{sample.cpu_seconds:.3f}"
            self._csv.writerow(row)

    def close(self) -> None:
        self._handle.close()


def read_csv(path: Path) -> list[ProcessUsage]:
    with path.open(newline="") as handle:
        return [
            ProcessUsage(
                time=float(row["time"]),
                role=row["role"],
                component=row["component"],
                pid=int(row["pid"]),
                cpu_seconds=float(row["cpu_seconds"]),
                rss_bytes=int(row["rss_bytes"]),
            )
            for row in csv.DictReader(handle)
        ]


class UsageThread:
    """Sample every `interval` seconds in a thread until stopped (then one last sample).

    `sample_now` takes one at once, from the caller's thread: the runner takes one
    as the load starts, so the CPU spent under load is measured from that moment.
    """

    def __init__(
        self, sampler: ResourceSampler, writer: UsageWriter, interval: float = 1.0
    ) -> None:
        self.sampler = sampler
        self.writer = writer
        self.interval = interval
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sample_now(self) -> None:
        with self._lock:
            try:
                self.writer.write(self.sampler.sample())
            except Exception as error:  # noqa: BLE001 - a missed sample must not end the load test
                self.errors.append(f"{type(error).__name__}: {error}")

    def _run(self) -> None:
        while True:
            self.sample_now()
            if self._stop.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample_now()
        self.writer.close()
