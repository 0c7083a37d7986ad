"""What resources.csv says: CPU per request, memory at rest and under load, the hot component.

The windows come from run.json:

- *at rest*: the samples taken after the stage was started and seeded and before
  Locust began (the runner waits REST_SECONDS there; the last of them is taken as
  the load starts, at `started_at`);
- *under load*: from that last rest sample to the first sample at or after
  `ended_at` (the sampler takes one as Locust has exited).

CPU spent under load is, per process, its cumulative CPU seconds at the end of
the window minus those at its start (a process born within the window counts
from zero; one that exited counts up to its last sample, at most one interval
short). A component's figures are the sum over its processes.

- CPU per request: the stage's core-milliseconds under load over the HTTP
  requests Locust counted (every entry except the order-completion one, whose
  rows are not requests); per order: over the orders that reached a final state.
  The whole stage's CPU is divided, so each figure carries that run's traffic mix.
- Memory: resident set sizes summed over the processes (pages that forked
  processes share are counted in each, as RSS does).
- The hot component: the one whose busiest process used the largest share of
  one core over PEAK_SPAN seconds. The stages are Python processes, each bound to
  about one core by the interpreter lock, so that process saturates first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from loadtests.resources import HOST, LOCUST, STAGE, ProcessUsage
from loadtests.results import AGGREGATED, ORDER_COMPLETION, Series, StageResult

PEAK_SPAN = 5.0  # seconds over which a process's peak CPU share is taken (1-s samples are noisy)
MIN_INTERVAL = 0.5  # seconds: shorter gaps between samples are too coarse for a CPU rate
LOCUST_BUSY = 0.8  # share of one core above which Locust's own figures may bound the stage's


@dataclass(frozen=True)
class ComponentUse:
    """One component (a named process tree) in one run.

    cpu_seconds  -- CPU seconds used under load, all its processes together
    cores        -- cpu_seconds over the load's duration: the cores it kept busy on average
    busiest_peak -- the largest share of one core its busiest process used over PEAK_SPAN
    rest_rss     -- bytes resident at rest (mean over the rest samples; None: none taken)
    load_rss     -- bytes resident under load, at the sample with the most
    """

    name: str
    processes: int
    cpu_seconds: float
    cores: float
    busiest_peak: float
    rest_rss: float | None
    load_rss: float


@dataclass(frozen=True)
class StageUse:
    """A stage's resources over one run, and Locust's beside them."""

    components: list[ComponentUse]  # most CPU first
    duration: float  # seconds under load
    requests: int  # HTTP requests Locust counted
    orders: int  # orders that reached a final state
    rest_rss: float | None
    load_mean_rss: float | None
    load_peak_rss: float | None
    locust: ComponentUse | None
    host: ComponentUse | None = None  # the whole machine: its busy cores, whoever used them
    host_cpus: int | None = None  # the machine's cores

    @property
    def cpu_seconds(self) -> float:
        return sum(c.cpu_seconds for c in self.components)

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.duration if self.duration else 0.0

    @property
    def core_ms_per_request(self) -> float | None:
        return 1000 * self.cpu_seconds / self.requests if self.requests else None

    @property
    def core_ms_per_order(self) -> float | None:
        return 1000 * self.cpu_seconds / self.orders if self.orders else None

    def core_ms_per_request_of(self, component: ComponentUse) -> float | None:
        return 1000 * component.cpu_seconds / self.requests if self.requests else None

    @property
    def hot(self) -> ComponentUse | None:
        return max(self.components, key=lambda c: c.busiest_peak, default=None)

    @property
    def locust_busy(self) -> bool:
        """Locust's busiest process was near a full core: the load it offered may have
        been held back by the generator, not by the stage."""
        return self.locust is not None and self.locust.busiest_peak >= LOCUST_BUSY


def http_requests(result: StageResult) -> int:
    """Locust's requests, without its order-completion rows (they time a flow, not a call)."""
    return sum(
        e.requests
        for key, e in result.entries.items()
        if key != AGGREGATED and e.type != ORDER_COMPLETION[0]
    )


def completed_orders(result: StageResult) -> int:
    orders = result.orders
    return orders.requests - orders.failures if orders else 0


def _window(ticks: list[float], started: float, ended: float) -> tuple[float, float]:
    """The ticks that open and close the load: the last at or before its start (none:
    the start itself, every process then born under load), and the first at or after
    its end (none: the last)."""
    before = [t for t in ticks if t <= started]
    after = [t for t in ticks if t >= ended]
    return (before[-1] if before else started), (after[0] if after else ticks[-1])


def peak_share(points: list[tuple[float, float]], span: float = PEAK_SPAN) -> float:
    """The largest CPU share of one core over any `span` seconds of (time, cumulative
    CPU seconds) points; the whole stretch when it is shorter than `span`."""
    best = 0.0
    for i, (t0, c0) in enumerate(points):
        later = next(((t, c) for t, c in points[i + 1 :] if t - t0 >= span - 1e-6), None)
        if later is None:
            if i == 0 and len(points) > 1:  # shorter than the span: take all of it
                later = points[-1]
            else:
                break
        t1, c1 = later
        best = max(best, (c1 - c0) / (t1 - t0))
    return best


def _component(
    name: str,
    rows: list[ProcessUsage],
    start: float,
    end: float,
) -> ComponentUse:
    by_pid: dict[int, list[ProcessUsage]] = defaultdict(list)
    for row in rows:
        by_pid[row.pid].append(row)
    cpu, peak, processes = 0.0, 0.0, 0
    for samples in by_pid.values():
        within = [s for s in samples if start <= s.time <= end]
        if not within or within[-1].time == start:
            continue  # gone before the load started
        processes += 1
        first = within[0].cpu_seconds if within[0].time == start else 0.0  # born under load
        cpu += within[-1].cpu_seconds - first
        # From its first sample only: a process born under load (Locust) spends its
        # start-up (imports) before that, which says nothing about its load.
        peak = max(peak, peak_share([(s.time, s.cpu_seconds) for s in within]))
    rss_at: dict[float, int] = defaultdict(int)
    for row in rows:
        rss_at[row.time] += row.rss_bytes
    rest = [v for t, v in rss_at.items() if t <= start]
    load = [v for t, v in rss_at.items() if start < t <= end]
    return ComponentUse(
        name=name,
        processes=processes,
        cpu_seconds=cpu,
        cores=cpu / (end - start) if end > start else 0.0,
        busiest_peak=peak,
        rest_rss=sum(rest) / len(rest) if rest else None,
        load_rss=float(max(load, default=0)),
    )


def _totals(rows: Iterable[ProcessUsage]) -> dict[float, int]:
    total: dict[float, int] = defaultdict(int)
    for row in rows:
        total[row.time] += row.rss_bytes
    return total


def stage_use(result: StageResult) -> StageUse | None:
    """The stage's figures, or None when its processes were not sampled (a remote stage,
    a run that never started)."""
    samples = result.resource_samples
    started, ended = result.run.get("started_at"), result.run.get("ended_at")
    stage_rows = [s for s in samples if s.role == STAGE]
    if not stage_rows or started is None or ended is None:
        return None
    ticks = sorted({s.time for s in samples})
    start, end = _window(ticks, started, ended)
    by_component: dict[str, list[ProcessUsage]] = defaultdict(list)
    for row in stage_rows:
        by_component[row.component].append(row)
    components = sorted(
        (_component(name, rows, start, end) for name, rows in by_component.items()),
        key=lambda c: -c.cpu_seconds,
    )
    totals = _totals(stage_rows)
    rest = [v for t, v in totals.items() if t <= start]
    load = [v for t, v in totals.items() if start < t <= end]
    return StageUse(
        components=components,
        duration=end - start,
        requests=http_requests(result),
        orders=completed_orders(result),
        rest_rss=sum(rest) / len(rest) if rest else None,
        load_mean_rss=sum(load) / len(load) if load else None,
        load_peak_rss=float(max(load)) if load else None,
        locust=locust_use(result, start, end),
        host=_role_use(result, HOST, start, end),
        host_cpus=result.run.get("load_host_cpus"),
    )


def locust_use(
    result: StageResult, start: float | None = None, end: float | None = None
) -> ComponentUse | None:
    """Locust's own CPU and memory over the load (all its processes as one component)."""
    return _role_use(result, LOCUST, start, end)


def _role_use(
    result: StageResult, role: str, start: float | None = None, end: float | None = None
) -> ComponentUse | None:
    rows = [s for s in result.resource_samples if s.role == role]
    if not rows:
        return None
    if start is None or end is None:
        ticks = sorted({s.time for s in result.resource_samples})
        start, end = _window(
            ticks,
            result.run.get("started_at") or ticks[0],
            result.run.get("ended_at") or ticks[-1],
        )
    return _component(role, rows, start, end)


def _stage_ticks(result: StageResult) -> dict[float, dict[int, ProcessUsage]]:
    ticks: dict[float, dict[int, ProcessUsage]] = defaultdict(dict)
    for row in result.resource_samples:
        if row.role == STAGE:
            ticks[row.time][row.pid] = row
    return dict(sorted(ticks.items()))


def cpu_series(result: StageResult) -> Series | None:
    """The cores the stage kept busy between one sample and the next, over seconds since
    the load started (the processes seen at both samples)."""
    ticks = list(_stage_ticks(result).items())
    origin = result.run.get("started_at")
    if len(ticks) < 2 or origin is None:
        return None
    points: list[tuple[float, float | None]] = []
    t0, before = ticks[0]
    for t1, after in ticks[1:]:
        # A sample taken on demand can fall just after a periodic one: over a few ms the
        # 10-ms clock ticks of /proc would read as many cores, so such a pair is joined.
        if t1 - t0 < MIN_INTERVAL:
            continue
        spent = sum(
            after[pid].cpu_seconds - before[pid].cpu_seconds for pid in after.keys() & before.keys()
        )
        if t1 >= origin:  # the charts start with the load; the rest is in the table
            points.append((t1 - origin, spent / (t1 - t0)))
        t0, before = t1, after
    return Series(points)


def memory_series(result: StageResult) -> Series | None:
    """The stage's resident memory in MiB at each sample, over seconds since the load started."""
    ticks = _stage_ticks(result)
    origin = result.run.get("started_at")
    if not ticks or origin is None:
        return None
    return Series(
        [
            (t - origin, sum(r.rss_bytes for r in rows.values()) / 2**20)
            for t, rows in ticks.items()
            if t >= origin
        ]
    )


@dataclass(frozen=True)
class WindowUse:
    """The stage's components, Locust and the machine over one stretch of a run."""

    components: list[ComponentUse]  # most CPU first
    locust: ComponentUse | None
    host: ComponentUse | None

    @property
    def hot(self) -> ComponentUse | None:
        return max(self.components, key=lambda c: c.busiest_peak, default=None)


def window_use(samples: list[ProcessUsage], started: float, ended: float) -> WindowUse | None:
    """CPU and memory between `started` and `ended` (a step of the capacity ramp), its ends
    moved out to the samples around them; None when no sample reaches past `started`."""
    ticks = sorted({s.time for s in samples})
    if not ticks or ticks[-1] <= started:
        return None
    start, end = _window(ticks, started, ended)
    by_role: dict[str, dict[str, list[ProcessUsage]]] = defaultdict(lambda: defaultdict(list))
    for row in samples:
        by_role[row.role][row.component].append(row)

    def one(role: str) -> ComponentUse | None:
        rows = [r for found in by_role[role].values() for r in found]
        return _component(role, rows, start, end) if rows else None

    components = [_component(n, rows, start, end) for n, rows in by_role[STAGE].items()]
    return WindowUse(sorted(components, key=lambda c: -c.cpu_seconds), one(LOCUST), one(HOST))
