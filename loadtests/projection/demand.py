"""What a local run measured, as the projection's input: CPU per component and request.

A `StageDemand` holds, for one stage, the figures the projection scales up:

    stage               monolith, microservices or functions
    measured_rps        the shop's request rate of the run the figures come from
    orders_per_request  orders placed per request of the mix (the request mix)
    components          component name (a workload's name in k8s/) -> ComponentDemand
    cold_start_ms       a new process's start to its first answer, measured here
                        (benchmarks/function_cold_start.py); None: not measured
    source              where the figures came from, shown beside the projection

and each `ComponentDemand`:

    cpu_ms_per_request       core-milliseconds the component spent per request of the
                             shop's mix (its CPU seconds in the run / the requests served)
    inflight_ms_per_request  milliseconds a request of the mix keeps one of the component's
                             requests in flight (its calls per request x their latency);
                             Knative's concurrency = rate x this. None: the CPU time is
                             taken, a lower bound (a call waits on the database too)
    calls_per_request        calls (or events) the component handles per request of the
                             mix, for a Knative Service scaled on rps; None: unknown

`demand_from_dict` builds it from plain data (JSON), `demand_from_totals` from a
run's totals (CPU seconds per component, requests, orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from loadtests.traffic_mix import ENTRIES, WEIGHTS

# Orders per request of the locustfile's mix: a place_order task adds two entries (its
# POST and its "order completion", which is no request); its status polls, whose number
# depends on the stage, are left out, so this is an upper bound.
DEFAULT_ORDERS_PER_REQUEST = WEIGHTS["place_order"] / (
    sum(WEIGHTS[task] * ENTRIES[task] for task in WEIGHTS) - WEIGHTS["place_order"]
)


@dataclass(frozen=True)
class ComponentDemand:
    """One component's measured cost per request of the shop's mix (see the module)."""

    cpu_ms_per_request: float
    inflight_ms_per_request: float | None = None
    calls_per_request: float | None = None

    def __post_init__(self) -> None:
        values = (self.cpu_ms_per_request, self.inflight_ms_per_request, self.calls_per_request)
        if any(v is not None and v < 0 for v in values):
            raise ValueError(f"a negative figure in {self}")

    @property
    def busy_ms_per_request(self) -> float:
        """In-flight milliseconds per request: measured, else the CPU time (a lower bound)."""
        if self.inflight_ms_per_request is not None:
            return self.inflight_ms_per_request
        return self.cpu_ms_per_request


@dataclass(frozen=True)
class StageDemand:
    """One stage's measured figures (see the module)."""

    stage: str
    measured_rps: float
    components: Mapping[str, ComponentDemand] = field(default_factory=dict)
    orders_per_request: float = DEFAULT_ORDERS_PER_REQUEST
    cold_start_ms: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.measured_rps <= 0:
            raise ValueError("measured_rps must be above zero: the load is scaled from it")
        if not 0 < self.orders_per_request <= 1:
            raise ValueError("orders_per_request must be in (0, 1]")

    @property
    def cpu_ms_per_request(self) -> float:
        return sum(c.cpu_ms_per_request for c in self.components.values())


def demand_from_dict(data: Mapping) -> StageDemand:
    """A StageDemand from plain data, e.g. JSON:

    {"stage": "microservices", "measured_rps": 47.5, "orders_per_request": 0.033,
     "cold_start_ms": 900, "source": "reports/...",
     "components": {"gateway": {"cpu_ms_per_request": 1.9},
                    "catalog": {"cpu_ms_per_request": 1.1, "inflight_ms_per_request": 4}}}

    A component may also be given as a bare number: its cpu_ms_per_request.
    """
    components = {}
    for name, given in dict(data.get("components", {})).items():
        if isinstance(given, int | float):
            components[name] = ComponentDemand(float(given))
        else:
            components[name] = ComponentDemand(
                float(given["cpu_ms_per_request"]),
                _optional(given.get("inflight_ms_per_request")),
                _optional(given.get("calls_per_request")),
            )
    return StageDemand(
        stage=str(data["stage"]),
        measured_rps=float(data["measured_rps"]),
        components=components,
        orders_per_request=float(data.get("orders_per_request", DEFAULT_ORDERS_PER_REQUEST)),
        cold_start_ms=_optional(data.get("cold_start_ms")),
        source=str(data.get("source", "")),
    )


def demand_from_totals(
    stage: str,
    cpu_seconds: Mapping[str, float],
    requests: int,
    duration_s: float,
    orders: int | None = None,
    cold_start_ms: float | None = None,
    source: str = "",
) -> StageDemand:
    """A StageDemand from a run's totals: each component's CPU seconds over the run, the
    requests the shop served and the orders placed in `duration_s` seconds of load."""
    if requests <= 0 or duration_s <= 0:
        raise ValueError("a run with requests and a duration is needed")
    return StageDemand(
        stage=stage,
        measured_rps=requests / duration_s,
        components={
            name: ComponentDemand(1000.0 * seconds / requests)
            for name, seconds in cpu_seconds.items()
        },
        orders_per_request=orders / requests if orders else DEFAULT_ORDERS_PER_REQUEST,
        cold_start_ms=cold_start_ms,
        source=source,
    )


def parse_cpu_ms(text: str) -> dict[str, float]:
    """ "catalog=1.2,gateway=0.8" -> {"catalog": 1.2, "gateway": 0.8} (ms per request)."""
    found = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--cpu-ms wants NAME=MS pairs, got {item!r}") from None
        if not name.strip() or found[name.strip()] < 0:
            raise ValueError(f"--cpu-ms wants NAME=MS pairs with MS >= 0, got {item!r}")
    if not found:
        raise ValueError("--cpu-ms is empty")
    return found


def _optional(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
