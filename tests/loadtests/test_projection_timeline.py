"""Replicas over a load shape's time, with the autoscalers' delays."""

from __future__ import annotations

from loadtests.projection.demand import demand_from_dict
from loadtests.projection.hpa import HpaPolicy
from loadtests.projection.kpa import KpaPolicy
from loadtests.projection.manifests import Workload
from loadtests.projection.timeline import stage_timeline, users_over_time

MIB = 2**20
FN = Workload(
    "fn", "KnativeService", 0.125, 0.5, 128 * MIB, 1,
    KpaPolicy(target=3, container_concurrency=4, min_scale=0, max_scale=4),
)  # fmt: skip
WEB = Workload("web", "Deployment", 0.25, 1.0, 256 * MIB, 2, HpaPolicy(2, 8, 70.0))
IDLE_BURST = [
    {"duration": 150, "users": 0, "spawn_rate": 1},
    {"duration": 270, "users": 40, "spawn_rate": 40},
]  # loadtests/shapes.py's IdleBurst, full profile
STEP = [
    {"duration": 120, "users": 10, "spawn_rate": 5},
    {"duration": 240, "users": 20, "spawn_rate": 5},
]


def test_users_ramp_at_the_spawn_rate() -> None:
    stages = [
        {"duration": 3, "users": 10, "spawn_rate": 5},
        {"duration": 6, "users": 0, "spawn_rate": 10},
    ]
    assert users_over_time(stages, 7) == [5, 10, 10, 0, 0, 0, 0]


def _functions(inflight_ms: float = 30.0):
    return demand_from_dict(
        {
            "stage": "functions",
            "measured_rps": 10,
            "cold_start_ms": 1000,
            "components": {"fn": {"cpu_ms_per_request": 1, "inflight_ms_per_request": inflight_ms}},
        }
    )


def test_idle_burst_a_function_at_zero_pays_a_cold_start_then_returns_to_zero() -> None:
    """Nobody for 150 s: the function is at zero. The burst (100 req/s x 30 ms = 3 in
    flight) meets no pod: a cold start at 150 s. After the burst (270 s) the last pod
    goes once a stable window saw no traffic (330 s) and the grace period passed (360 s),
    to the autoscaler's 2 s tick."""
    line = stage_timeline([FN], _functions(), IDLE_BURST, 100.0, tail_s=150).workloads[0]
    assert set(line.replicas[:150]) == {0}
    assert line.cold_starts == [150]
    assert line.ready[150] == 0 and line.ready[151] >= 1  # the 1 s cold start
    assert min(line.replicas[155:270]) >= 2  # 3 in flight / (3 x 70%) -> 2 pods
    assert min(line.replicas[270:359]) >= 1  # stable window, then grace period
    back_to_zero = next(s for s in range(270, len(line.replicas)) if line.replicas[s] == 0)
    assert 360 <= back_to_zero <= 364
    assert set(line.replicas[back_to_zero:]) == {0}


def test_a_burst_from_zero_panics() -> None:
    """100 req/s x 60 ms = 6 in flight, queued in the activator during the cold start:
    the panic window asks for 3+ pods against at most 1 ready, over the 200% threshold."""
    line = stage_timeline([FN], _functions(60.0), IDLE_BURST, 100.0).workloads[0]
    assert line.panics and 150 <= line.panics[0][0] <= 152
    assert max(line.replicas) == 4  # max-scale


def test_an_hpa_scales_at_its_syncs_and_its_pods_start_late() -> None:
    """Step from 50 to 100 req/s of 4 ms: 0.2 -> 0.4 cores; at 0.25 requested and 70%
    that is 2 -> 3 pods. The users ramp 10 -> 20 at 5/s, so the sync at 120 s sees 15
    (0.3 cores, 60%: no more pods); the one at 135 s adds one, serving 1 s later."""
    demand = demand_from_dict(
        {"stage": "monolith", "measured_rps": 10, "cold_start_ms": 1000, "components": {"web": 4}}
    )
    line = stage_timeline([WEB], demand, STEP, 100.0).workloads[0]
    changes = line.changes()
    assert changes == [(0, 2), (135, 3)]
    assert line.ready[135] == 2 and line.ready[136] == 3


def test_core_seconds_add_up_the_requested_cores() -> None:
    demand = demand_from_dict({"stage": "monolith", "measured_rps": 10, "components": {}})
    timeline = stage_timeline([WEB], demand, STEP, 100.0)
    assert timeline.core_seconds == 2 * 0.25 * 240  # 2 pods all along
