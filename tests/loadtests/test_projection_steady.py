"""The projection at a steady target load, computed by hand; and its inputs."""

from __future__ import annotations

import pytest

from loadtests.projection.demand import (
    DEFAULT_ORDERS_PER_REQUEST,
    ComponentDemand,
    demand_from_dict,
    demand_from_totals,
    parse_cpu_ms,
)
from loadtests.projection.hpa import HpaPolicy
from loadtests.projection.kpa import KpaPolicy
from loadtests.projection.manifests import Workload
from loadtests.projection.steady import parse_load, project

MIB = 2**20
WEB = Workload(
    "web", "Deployment", 0.25, 1.0, 256 * MIB, 2, HpaPolicy(2, 8, 70.0)
)  # the monolith's figures
FN = Workload(
    "fn", "KnativeService", 0.125, 0.5, 128 * MIB, 1,
    KpaPolicy(target=3, container_concurrency=4, min_scale=0, max_scale=4),
)  # fmt: skip
DB = Workload("db", "StatefulSet", 0.25, 1.0, 256 * MIB, 1, None, 1)


def test_an_hpa_workload_replicates_to_its_cpu_target() -> None:
    # 47 req/s x 3 = 141 req/s x 4 ms = 0.564 cores; / (0.25 x 70%) = 3.2 -> 4 pods.
    demand = demand_from_dict({"stage": "s", "measured_rps": 47, "components": {"web": 4.0}})
    found = project([WEB, DB], demand, 3)
    web = found.workloads[0]
    assert (web.replicas, web.needed, web.note) == (4, 4, "")
    assert web.used_cores == pytest.approx(0.564)
    assert web.requested_cores == pytest.approx(1.0)
    assert web.requested_memory_mib == 1024
    assert found.requested_cores == pytest.approx(1.25)  # the database's fixed 0.25 too


def test_within_the_tolerance_the_hpa_stays_put() -> None:
    # 0.376 cores on the 2 minimum pods: 75.2% against 70%, within 10%: still 2 pods.
    demand = demand_from_dict({"stage": "s", "measured_rps": 47, "components": {"web": 4.0}})
    assert project([WEB], demand, 2).workloads[0].replicas == 2


def test_max_replicas_caps_and_says_what_was_needed() -> None:
    # 470 req/s x 4.2 ms = 1.974 cores -> ceil(1.974 / 0.175) = 12 > maxReplicas 8.
    demand = demand_from_dict({"stage": "s", "measured_rps": 47, "components": {"web": 4.2}})
    web = project([WEB], demand, 10).workloads[0]
    assert (web.replicas, web.needed) == (8, 12)
    assert "capped at maxReplicas 8 (needs 12)" in web.note
    assert (web.requested_cores, web.needed_cores) == (2.0, 3.0)  # 8 and 12 x 0.25


def test_core_seconds_per_thousand_orders() -> None:
    # 100 req/s, 1 order per 20 requests: 5 orders/s, 1,000 orders in 200 s; 3 pods x
    # 0.25 cores requested = 0.75 cores x 200 s = 150 core-seconds; used: 4 ms x 20 = 80.
    demand = demand_from_dict(
        {"stage": "s", "measured_rps": 100, "orders_per_request": 0.05, "components": {"web": 4.0}}
    )
    found = project([WEB], demand, 1)
    assert found.workloads[0].replicas == 3  # 0.4 cores / 0.175 = 2.3
    assert found.requested_core_seconds_per_1000_orders == pytest.approx(150.0)
    assert found.used_core_seconds_per_1000_orders == pytest.approx(80.0)


def test_a_knative_service_follows_its_concurrency() -> None:
    # 200 req/s x 30 ms in flight = 6 concurrent; target 3 (cc 4) x 70% = 2.1 -> 3 pods.
    demand = demand_from_dict(
        {
            "stage": "s",
            "measured_rps": 100,
            "components": {"fn": {"cpu_ms_per_request": 0.5, "inflight_ms_per_request": 30}},
        }
    )
    fn = project([FN], demand, 2).workloads[0]
    assert (fn.replicas, fn.needed) == (3, 3)
    assert fn.requested_cores == pytest.approx(0.375)


def test_a_knative_service_at_max_scale_queues_in_the_activator() -> None:
    # 1000 req/s x 30 ms = 30 concurrent: needs 15 pods, max-scale 4 carries 4 x cc 4 = 16.
    demand = demand_from_dict(
        {"stage": "s", "measured_rps": 100,
         "components": {"fn": {"cpu_ms_per_request": 0.1, "inflight_ms_per_request": 30}}}
    )  # fmt: skip
    fn = project([FN], demand, 10).workloads[0]
    assert (fn.replicas, fn.needed) == (4, 15)
    assert "capped at max-scale 4 (needs 15)" in fn.note
    assert "14.0 requests queued" in fn.note


def test_a_cpu_bound_knative_service_gets_the_pods_its_cpu_limit_needs() -> None:
    """100 req/s x 12 ms = 1.2 cores, at most 0.5 per pod: the CPU time alone (1.2 in
    flight) asks for 1 pod. With the requests waiting for a CPU (M/M/1 per pod):
    3 pods: rho 0.8, 3 x 0.64 / 0.2 = 9.6 waiting, 10.8 in flight -> 6 pods, more than 3;
    4 pods: rho 0.6, 4 x 0.36 / 0.4 = 3.6 waiting, 4.8 in flight -> 3 pods: 4 settle."""
    demand = demand_from_dict({"stage": "s", "measured_rps": 100, "components": {"fn": 12.0}})
    fn = project([FN], demand, 1).workloads[0]
    assert fn.replicas == 4
    assert fn.note.startswith("CPU-bound")


def test_an_idle_knative_service_is_at_zero() -> None:
    demand = demand_from_dict({"stage": "s", "measured_rps": 100, "components": {}})
    found = project([FN], demand, 10)
    assert found.workloads[0].replicas == 0
    assert found.workloads[0].requested_cores == 0


def test_components_without_a_workload_are_named() -> None:
    demand = demand_from_dict({"stage": "s", "measured_rps": 10, "components": {"broker": 1}})
    assert project([WEB], demand, 1).unplaced == ["broker"]


def test_demand_from_a_runs_totals() -> None:
    demand = demand_from_totals(
        "monolith", {"monolith": 12.0}, requests=3000, duration_s=60, orders=100
    )
    assert demand.measured_rps == 50
    assert demand.components["monolith"].cpu_ms_per_request == pytest.approx(4.0)
    assert demand.orders_per_request == pytest.approx(1 / 30)


def test_the_default_request_mix() -> None:
    # The locustfile's weights: browse 6, search 3, view 10 (2 requests), order 1 -> 1/30.
    assert pytest.approx(1 / 30) == DEFAULT_ORDERS_PER_REQUEST


def test_in_flight_time_defaults_to_the_cpu_time() -> None:
    assert ComponentDemand(2.0).busy_ms_per_request == 2.0
    assert ComponentDemand(2.0, inflight_ms_per_request=9.0).busy_ms_per_request == 9.0


@pytest.mark.parametrize(("text", "factor"), [("10x", 10.0), ("100X", 100.0), ("470rps", 10.0)])
def test_loads(text: str, factor: float) -> None:
    assert parse_load(text, 47.0) == pytest.approx(factor)


@pytest.mark.parametrize("text", ["ten", "0x", "-2x", "x", "nanx"])
def test_bad_loads(text: str) -> None:
    with pytest.raises(ValueError, match="--load"):
        parse_load(text, 47.0)


def test_cpu_ms_pairs() -> None:
    assert parse_cpu_ms("catalog=1.2, gateway=0.8") == {"catalog": 1.2, "gateway": 0.8}
    for bad in ("catalog", "catalog=x", "=1", "a=-1", ""):
        with pytest.raises(ValueError, match="--cpu-ms"):
            parse_cpu_ms(bad)


def test_bad_demand_is_refused() -> None:
    with pytest.raises(ValueError, match="measured_rps"):
        demand_from_dict({"stage": "s", "measured_rps": 0})
    with pytest.raises(ValueError, match="negative"):
        demand_from_dict({"stage": "s", "measured_rps": 1, "components": {"a": -1}})
