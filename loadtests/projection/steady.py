"""The projection at a steady target load: replicas, requested cores and memory, cost.

For each workload of the stage's rendered overlay, at `load_rps` requests per second
of the measured mix:

- HPA: the CPU the workload would use (rate x its CPU ms per request) as a share of
  its pods' CPU request, and the replicas at which the documented formula settles
  against the HPA's target utilisation, capped at maxReplicas;
- KPA: the concurrency (rate x in-flight ms per request; Little's law) or the rps
  (rate x calls per request), and ceil(observed / (target x target utilisation)),
  within min-scale and max-scale, where the concurrency includes the requests waiting
  for a CPU held to its limit (see `in_flight`: more pods, less waiting);
- no autoscaler: its fixed replicas.

A workload capped by its maximum says so, with the replicas it would need. Requested
cores and memory are replicas x the pod's requests; core-seconds per 1,000 orders
are the requested cores held for the time 1,000 orders take at that load (what a
cluster reserves), beside the CPU actually used for them (what the run measured).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from loadtests.projection.demand import ComponentDemand, StageDemand
from loadtests.projection.hpa import HpaPolicy, settled_replicas
from loadtests.projection.kpa import KpaPolicy, desired_pods
from loadtests.projection.manifests import Workload

MIB = 2**20


@dataclass(frozen=True)
class WorkloadProjection:
    """One workload at the target load; every figure projected."""

    name: str
    scaler: str
    replicas: int
    needed: int  # replicas the autoscaler's formula asks for, before the maximum
    processes_per_pod: int
    requested_cores: float
    requested_memory_mib: float
    used_cores: float
    needed_cores: float  # requested cores at the replicas needed, were there no maximum
    note: str = ""

    @property
    def capped(self) -> bool:
        return self.needed > self.replicas


@dataclass(frozen=True)
class StageProjection:
    """A stage at the target load; every figure projected."""

    stage: str
    load_rps: float
    factor: float
    orders_per_s: float
    workloads: list[WorkloadProjection]
    unplaced: list[str]  # measured components with no workload in k8s/<stage>

    @property
    def requested_cores(self) -> float:
        return sum(w.requested_cores for w in self.workloads)

    @property
    def requested_memory_mib(self) -> float:
        return sum(w.requested_memory_mib for w in self.workloads)

    @property
    def used_cores(self) -> float:
        return sum(w.used_cores for w in self.workloads)

    @property
    def needed_cores(self) -> float:
        return sum(w.needed_cores for w in self.workloads)

    @property
    def replicas(self) -> int:
        return sum(w.replicas for w in self.workloads)

    @property
    def requested_core_seconds_per_1000_orders(self) -> float:
        return self.requested_cores * 1000.0 / self.orders_per_s

    @property
    def needed_core_seconds_per_1000_orders(self) -> float:
        return self.needed_cores * 1000.0 / self.orders_per_s

    @property
    def used_core_seconds_per_1000_orders(self) -> float:
        return self.used_cores * 1000.0 / self.orders_per_s


def as_dict(projection: StageProjection) -> dict:
    """The projection as plain data, its totals included (for JSON and the report)."""
    return asdict(projection) | {
        "kind": "projected",
        "replicas": projection.replicas,
        "requested_cores": projection.requested_cores,
        "requested_memory_mib": projection.requested_memory_mib,
        "used_cores": projection.used_cores,
        "needed_cores": projection.needed_cores,
        "requested_core_seconds_per_1000_orders": projection.requested_core_seconds_per_1000_orders,
        "needed_core_seconds_per_1000_orders": projection.needed_core_seconds_per_1000_orders,
        "used_core_seconds_per_1000_orders": projection.used_core_seconds_per_1000_orders,
    }


def hpa_replicas(workload: Workload, used_cores: float) -> tuple[int, int, str]:
    """(replicas, needed, note) for an HPA workload using `used_cores`."""
    policy = workload.autoscaler
    assert isinstance(policy, HpaPolicy)
    needed = settled_replicas(policy, used_cores, workload.cpu_request)
    replicas = min(needed, policy.max_replicas)
    note = ""
    if needed > policy.max_replicas:
        note = f"capped at maxReplicas {policy.max_replicas} (needs {needed})"
    if workload.cpu_limit is not None and used_cores > replicas * workload.cpu_limit:
        note = f"saturated: {used_cores:.2f} cores > {replicas} x limit {workload.cpu_limit:g}"
    return replicas, needed, note


def kpa_observed(policy: KpaPolicy, component: ComponentDemand, rate: float) -> float:
    """The metric the KPA sees at `rate` requests/s when no request waits for a CPU:
    concurrency (rate x in-flight time, Little's law), or rps."""
    if policy.metric == "rps":
        if component.calls_per_request is None:
            raise ValueError("a Knative Service scaled on rps needs calls_per_request")
        return rate * component.calls_per_request
    return rate * component.busy_ms_per_request / 1000.0


def in_flight(workload: Workload, component: ComponentDemand, rate: float, pods: int) -> float:
    """The concurrency `pods` ready pods report at `rate` requests/s (infinite: they
    cannot keep up). Beside each request's own in-flight time, requests wait for a CPU:
    a pod held to its CPU limit is taken as an M/M/1 queue (an assumption of this
    projection, not Knative's) at utilisation rho = CPU used / (pods x limit), with
    rho^2 / (1 - rho) requests waiting in each."""
    policy = workload.autoscaler
    assert isinstance(policy, KpaPolicy)
    base = kpa_observed(policy, component, rate)
    if policy.metric != "concurrency" or not workload.cpu_limit:
        return base
    used = rate * component.cpu_ms_per_request / 1000.0
    if used <= 0:
        return base
    if pods <= 0:
        return math.inf
    rho = used / (pods * workload.cpu_limit)
    return math.inf if rho >= 1 else base + pods * rho * rho / (1 - rho)


def kpa_pods(workload: Workload, component: ComponentDemand, rate: float) -> int:
    """The fewest pods at which the KPA's formula, fed the concurrency those pods report,
    asks for no more (unbounded by max-scale)."""
    policy = workload.autoscaler
    assert isinstance(policy, KpaPolicy)
    if rate <= 0:
        return 0
    pods = max(1, desired_pods(kpa_observed(policy, component, rate), policy))
    while True:
        reported = in_flight(workload, component, rate, pods)
        if math.isfinite(reported) and desired_pods(reported, policy) <= pods:
            return pods
        pods += 1


def kpa_replicas(
    workload: Workload, component: ComponentDemand | None, rate: float
) -> tuple[int, int, str]:
    """(replicas, needed, note) for a Knative Service at `rate` requests/s."""
    policy = workload.autoscaler
    assert isinstance(policy, KpaPolicy)
    observed = kpa_observed(policy, component, rate) if component else 0.0
    needed = max(kpa_pods(workload, component, rate) if component else 0, policy.min_scale)
    note = "to zero when idle" if policy.min_scale == 0 else ""
    if needed > max(desired_pods(observed, policy), policy.min_scale):
        used = rate * component.cpu_ms_per_request / 1000.0 if component else 0.0
        note = f"CPU-bound: {used:.2f} cores, {workload.cpu_limit:g} at most per pod"
    replicas = policy.bounded(needed)
    if needed > replicas:
        note = f"capped at max-scale {policy.max_scale} (needs {needed})"
        hard = policy.container_concurrency
        if policy.metric == "concurrency" and hard and observed > replicas * hard:
            note += f"; {observed - replicas * hard:.1f} requests queued in the activator"
    return replicas, needed, note


def project(workloads: list[Workload], demand: StageDemand, factor: float) -> StageProjection:
    """The stage at `factor` x its measured request rate."""
    rate = demand.measured_rps * factor
    found = []
    for workload in workloads:
        component = demand.components.get(workload.name)
        used = rate * component.cpu_ms_per_request / 1000.0 if component else 0.0
        if workload.scaler == "HPA":
            replicas, needed, note = hpa_replicas(workload, used)
        elif workload.scaler == "KPA":
            replicas, needed, note = kpa_replicas(workload, component, rate)
        else:
            replicas = needed = workload.replicas
            note = "fixed replicas"
        if component is None:
            note = "; ".join(filter(None, ["no CPU figure: at its minimum", note]))
        found.append(
            WorkloadProjection(
                name=workload.name,
                scaler=workload.scaler,
                replicas=replicas,
                needed=needed,
                processes_per_pod=workload.processes,
                requested_cores=replicas * workload.cpu_request,
                requested_memory_mib=replicas * workload.memory_request / MIB,
                used_cores=used,
                needed_cores=needed * workload.cpu_request,
                note=note,
            )
        )
    names = {w.name for w in workloads}
    return StageProjection(
        stage=demand.stage,
        load_rps=rate,
        factor=factor,
        orders_per_s=rate * demand.orders_per_request,
        workloads=found,
        unplaced=sorted(set(demand.components) - names),
    )


def parse_load(text: str, measured_rps: float) -> float:
    """ "10x" -> 10.0; "500rps" -> 500 / measured_rps (the factor over the measured rate)."""
    given = text.strip().lower()
    try:
        if given.endswith("x"):
            factor = float(given[:-1])
        elif given.endswith("rps"):
            factor = float(given[:-3]) / measured_rps
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"--load wants e.g. 10x or 500rps, got {text!r}") from None
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"--load must be above zero, got {text!r}")
    return factor
