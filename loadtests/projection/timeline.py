"""Replicas over a load shape's time, with the autoscalers' delays; every figure projected.

The shape's stages (loadtests/shapes.py: cumulative `duration`, `users`, `spawn_rate`)
give the users at each second, ramping at the spawn rate; the request rate is the
target load scaled by users / the shape's most users, so the shape's peak carries the
target load. Each workload is then stepped second by second:

- HPA (hpa.HpaController): a sync every sync period (15 s) on the CPU the ready pods
  use (at most their CPU limit each), with its stabilisation windows and policies; a
  new pod serves `pod_start_s` after the HPA asked for it.
- KPA (kpa.KpaController): the concurrency (or rps) reported every second, a decision
  every tick (2 s), stable and panic windows, the scale-to-zero grace period; a request
  reaching a revision at zero wakes it at once (Knative's activator) and waits the cold
  start for its first pod. Requests no ready pod can take (none ready, or their CPU
  limits bound) queue, and Knative counts them in the concurrency; below the limit the
  concurrency includes the requests waiting for a CPU (steady.in_flight).

Before the shape starts every workload is settled at the shape's first load (a
revision idle for a stable window and its grace period is at zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtests.projection.demand import StageDemand
from loadtests.projection.hpa import HpaController, HpaPolicy, settled_replicas
from loadtests.projection.kpa import KpaController, KpaPolicy
from loadtests.projection.manifests import Workload
from loadtests.projection.steady import in_flight, kpa_observed, kpa_pods

# Process start to first answer when no cold start was measured (benchmarks/
# function_cold_start.py measures it): stated as an assumption wherever it is used.
ASSUMED_START_S = 2.0


@dataclass
class WorkloadTimeline:
    """One workload's replicas at each second of the shape."""

    name: str
    scaler: str
    cpu_request: float
    replicas: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    cold_starts: list[int] = field(default_factory=list)  # seconds a request met zero pods
    panics: list[tuple[float, float]] = field(default_factory=list)
    saturated_s: int = 0  # seconds its ready pods could not carry the demand

    @property
    def core_seconds(self) -> float:
        """Requested cores held over the shape (replicas x CPU request, per second)."""
        return sum(self.replicas) * self.cpu_request

    def changes(self) -> list[tuple[int, int]]:
        """(second, replicas) at the start and wherever the replicas change."""
        found = []
        for second, count in enumerate(self.replicas):
            if not found or found[-1][1] != count:
                found.append((second, count))
        return found


@dataclass
class StageTimeline:
    stage: str
    peak_rps: float
    start_s: float
    rates: list[float]
    workloads: list[WorkloadTimeline]

    @property
    def core_seconds(self) -> float:
        return sum(w.core_seconds for w in self.workloads)


def users_over_time(stages: Sequence[dict], seconds: int) -> list[float]:
    """Users at each second: each stage's users, reached at its spawn rate."""
    users, current = [], 0.0
    for second in range(seconds):
        stage = next((s for s in stages if second < s["duration"]), None)
        goal = float(stage["users"]) if stage else 0.0
        step = float(stage["spawn_rate"]) if stage else math.inf  # users per second
        current = min(goal, current + step) if goal > current else max(goal, current - step)
        users.append(current)
    return users


def rates_over_time(stages: Sequence[dict], peak_rps: float, tail_s: int = 0) -> list[float]:
    """Requests/s at each second, the shape's peak carrying `peak_rps`."""
    seconds = int(max(s["duration"] for s in stages)) + tail_s
    users = users_over_time(stages, seconds)
    most = max(users) or 1.0
    return [peak_rps * u / most for u in users]


def _hpa(workload: Workload, cpu_ms: float, rates: list[float], start_s: float) -> WorkloadTimeline:
    policy = workload.autoscaler
    assert isinstance(policy, HpaPolicy)
    first = rates[0] * cpu_ms / 1000.0
    settled = settled_replicas(policy, first, workload.cpu_request)
    controller = HpaController(policy, min(settled, policy.max_replicas))
    ready_at = [-math.inf] * controller.replicas
    line = WorkloadTimeline(workload.name, "HPA", workload.cpu_request)
    for second, rate in enumerate(rates):
        used = rate * cpu_ms / 1000.0
        ready = sum(1 for at in ready_at if at <= second)
        carried = used if workload.cpu_limit is None else min(used, ready * workload.cpu_limit)
        if carried < used - 1e-9:
            line.saturated_s += 1
        if second % policy.sync_period_s == 0:
            wanted = controller.sync(second, ready, carried, workload.cpu_request)
            ready_at = _resize(ready_at, wanted, second + start_s)
        line.replicas.append(len(ready_at))
        line.ready.append(sum(1 for at in ready_at if at <= second))
    return line


def _kpa(
    workload: Workload, demand: StageDemand, rates: list[float], start_s: float
) -> WorkloadTimeline:
    policy = workload.autoscaler
    assert isinstance(policy, KpaPolicy)
    component = demand.components.get(workload.name)

    def observed(rate: float) -> float:
        return kpa_observed(policy, component, rate) if component else 0.0

    pods = policy.bounded(kpa_pods(workload, component, rates[0]) if component else 0)
    first = observed(rates[0])
    if component is not None and pods > 0:
        settled = in_flight(workload, component, rates[0], pods)  # the requests waiting too
        first = settled if math.isfinite(settled) else first
    controller = KpaController(policy, pods)
    for second in range(-int(policy.stable_window_s), 0):
        controller.observe(second, first)  # the shape starts after a settled window
    ready_at = [-math.inf] * controller.pods
    line = WorkloadTimeline(workload.name, "KPA", workload.cpu_request)
    tick = int(policy.tick_s)
    cpu_ms = component.cpu_ms_per_request if component else 0.0
    waiting, backlog = False, 0.0
    for second, rate in enumerate(rates):
        if component is None:
            rate = 0.0  # no CPU figure: none of the mix's requests reach it, none wait for it
        ready = sum(1 for at in ready_at if at <= second)
        # Requests the ready pods cannot serve (none ready, or CPU-bound at their limit)
        # wait in the activator or queue-proxy, where Knative counts them as concurrency.
        served = _served_rps(workload, ready, cpu_ms, rate + backlog)
        backlog = max(0.0, backlog + rate - served)
        if backlog > 0 or component is None or policy.metric != "concurrency":
            value = observed(rate) + (backlog if policy.metric == "concurrency" else 0.0)
        else:
            value = in_flight(workload, component, rate, ready)
        controller.observe(second, value)
        woken = value > 0 and not ready_at  # the activator wakes a revision at zero
        if second % tick == 0 or woken:
            wanted = controller.decide(second, ready)
            ready_at = _resize(ready_at, wanted, second + start_s)
        ready = sum(1 for at in ready_at if at <= second)
        if value > 0 and ready == 0 and not waiting:
            line.cold_starts.append(second)
        waiting = value > 0 and ready == 0
        hard = policy.container_concurrency
        if policy.metric == "concurrency" and hard and value > ready * hard:
            line.saturated_s += 1
        line.replicas.append(len(ready_at))
        line.ready.append(ready)
    line.panics = list(controller.panics)
    return line


def _served_rps(workload: Workload, ready: int, cpu_ms: float, offered: float) -> float:
    """The requests/s `ready` pods can serve: all offered, unless their CPU limit binds."""
    if ready == 0:
        return 0.0
    if workload.cpu_limit is None or cpu_ms <= 0:
        return offered
    return min(offered, ready * workload.cpu_limit * 1000.0 / cpu_ms)


def _resize(ready_at: list[float], wanted: int, new_ready_at: float) -> list[float]:
    """Pods added become ready at `new_ready_at`; pods removed go starting-first."""
    if wanted > len(ready_at):
        return [*ready_at, *[new_ready_at] * (wanted - len(ready_at))]
    return sorted(ready_at)[:wanted]


def _fixed(workload: Workload, rates: list[float]) -> WorkloadTimeline:
    line = WorkloadTimeline(workload.name, "fixed", workload.cpu_request)
    line.replicas = [workload.replicas] * len(rates)
    line.ready = list(line.replicas)
    return line


def stage_timeline(
    workloads: list[Workload],
    demand: StageDemand,
    stages: Sequence[dict],
    peak_rps: float,
    tail_s: int = 0,
) -> StageTimeline:
    """Every workload's replicas over the shape, the shape's peak at `peak_rps`."""
    rates = rates_over_time(stages, peak_rps, tail_s)
    start_s = demand.cold_start_ms / 1000.0 if demand.cold_start_ms else ASSUMED_START_S
    lines = []
    for workload in workloads:
        component = demand.components.get(workload.name)
        cpu_ms = component.cpu_ms_per_request if component else 0.0
        if workload.scaler == "HPA":
            lines.append(_hpa(workload, cpu_ms, rates, start_s))
        elif workload.scaler == "KPA":
            lines.append(_kpa(workload, demand, rates, start_s))
        else:
            lines.append(_fixed(workload, rates))
    return StageTimeline(demand.stage, peak_rps, start_s, rates, lines)
