"""The HPA's formulas against the Kubernetes documentation's worked examples, and by hand.

"the HPA doc" below is the Kubernetes documentation page "Horizontal Pod Autoscaling"
(kubernetes/website: content/en/docs/tasks/run-application/horizontal-pod-autoscale.md).
"""

from __future__ import annotations

import pytest

from loadtests.projection.hpa import (
    DEFAULT_SCALE_UP,
    HpaController,
    HpaPolicy,
    ScalingPolicy,
    ScalingRules,
    desired_replicas,
    recommendation,
    scale_down_limit,
    scale_up_limit,
    settled_replicas,
)


def test_a_metric_twice_the_target_doubles_the_replicas() -> None:
    # The HPA doc, "Algorithm details": current 200m, desired 100m -> doubled.
    assert desired_replicas(3, 200, 100) == 6


def test_a_metric_half_the_target_halves_the_replicas() -> None:
    # The HPA doc, "Algorithm details": current 50m, desired 100m -> halved.
    assert desired_replicas(4, 50, 100) == 2


@pytest.mark.parametrize("current_metric", [91.0, 95.0, 100.0, 105.0, 110.0])
def test_no_scaling_within_the_tolerance(current_metric: float) -> None:
    # The HPA doc: no action when the ratio is within the tolerance (0.1) of 1.0.
    assert desired_replicas(10, current_metric, 100) == 10


def test_just_past_the_tolerance_it_scales() -> None:
    assert desired_replicas(10, 111, 100) == 12  # ceil(10 * 1.11)
    assert desired_replicas(10, 89, 100) == 9  # ceil(10 * 0.89)


def test_the_tolerance_blog_example() -> None:
    # Kubernetes blog "Kubernetes v1.33: HorizontalPodAutoscaler Configurable Tolerance":
    # 50 replicas at 90% CPU against a 75% target: 20% over, past the 10% tolerance -> 60.
    assert desired_replicas(50, 90, 75) == 60


DOC_SCALE_DOWN = ScalingRules(
    300, "Max", (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60))
)


@pytest.mark.parametrize(("start", "fewest"), [(80, 72), (72, 64), (40, 36), (30, 26)])
def test_the_scale_down_policies_example(start: int, fewest: int) -> None:
    # The HPA doc, "Scaling policies": Pods 4 and Percent 10 per 60 s, the larger change
    # wins: 80 -> 72 (8 removed); 72 -> 64 (7.2 rounds up to 8); at 40 or fewer, 4 a time.
    assert scale_down_limit(DOC_SCALE_DOWN, [start, start]) == fewest


def test_select_policy_min_takes_the_smallest_change() -> None:
    # The HPA doc, "Example: limit scale down rate": Percent 10 and Pods 5, selectPolicy Min.
    policies = (ScalingPolicy("Percent", 10, 60), ScalingPolicy("Pods", 5, 60))
    rules = ScalingRules(300, "Min", policies)
    assert scale_down_limit(rules, [80, 80]) == 75  # 5 pods, not 8
    assert scale_down_limit(rules, [20, 20]) == 18  # 10% (2), not 5


@pytest.mark.parametrize(("start", "most"), [(2, 6), (4, 8), (10, 20)])
def test_the_default_scale_up_adds_4_pods_or_100_percent(start: int, most: int) -> None:
    # The HPA doc, "Default Behavior": 4 pods or 100% of the replicas every 15 s, the larger.
    assert scale_up_limit(DEFAULT_SCALE_UP, [start, start]) == most


POLICY = HpaPolicy(min_replicas=2, max_replicas=8, target_utilization=50.0)


def test_starting_pods_dampen_a_scale_up_until_it_reverses() -> None:
    # 2 ready pods of 1 core use 1.5 cores: 75% against 50% asks for 3; counted with the
    # 2 starting pods at 0% it is 37.5%, a reversal: no action.
    assert recommendation(POLICY, current=4, ready=2, usage_cores=1.5, cpu_request=1.0) == 4
    # 3 cores: 150% on the ready pods, 75% over all 4: ceil(4 * 1.5) = 6.
    assert recommendation(POLICY, current=4, ready=2, usage_cores=3.0, cpu_request=1.0) == 6


def test_no_ready_pod_no_action() -> None:
    assert recommendation(POLICY, current=3, ready=0, usage_cores=5.0, cpu_request=1.0) == 3


def test_settles_where_the_formula_stops_changing() -> None:
    # 1.974 cores at 0.25 requested and 70% target: ceil(1.974 / 0.175) = 12.
    monolith = HpaPolicy(min_replicas=2, max_replicas=8, target_utilization=70.0)
    assert settled_replicas(monolith, 1.974, 0.25) == 12
    assert settled_replicas(monolith, 0.0, 0.25) == 2  # never under minReplicas


MONOLITH_LIKE = HpaPolicy(
    min_replicas=2,
    max_replicas=8,
    target_utilization=70.0,
    scale_up=ScalingRules(
        0, "Max", (ScalingPolicy("Percent", 100, 30), ScalingPolicy("Pods", 2, 30))
    ),
    scale_down=ScalingRules(300, "Min", (ScalingPolicy("Percent", 25, 60),)),
)


def test_the_stabilisation_window_holds_replicas_up() -> None:
    """8 pods at their target, then almost no load: the 300 s window keeps the highest
    recommendation (8) until it leaves the window, then 25% a minute (by hand:
    8 -> 6 at 315 s, -> 4 at 375 s (4.5 floors), -> 3 at 435 s, -> 2 at 495 s)."""
    controller = HpaController(MONOLITH_LIKE, replicas=8)
    at_target = 8 * 0.25 * 0.70
    assert controller.sync(0, ready=8, usage_cores=at_target, cpu_request=0.25) == 8
    seen = {}
    for now in range(15, 601, 15):
        seen[now] = controller.sync(now, controller.replicas, 0.05, 0.25)
    assert {seen[t] for t in range(15, 301, 15)} == {8}
    assert [seen[t] for t in (315, 360, 375, 420, 435, 480, 495, 600)] == [6, 6, 4, 4, 3, 3, 2, 2]


def test_a_scale_up_is_limited_by_its_policies_per_period() -> None:
    """From 2 pods, a load for 20: +100% or +2 pods per 30 s, the larger: 4, then 8 (max)."""
    controller = HpaController(MONOLITH_LIKE, replicas=2)
    heavy = 20 * 0.25 * 0.70
    steps = [controller.sync(now, controller.replicas, heavy, 0.25) for now in (0, 15, 30, 45)]
    assert steps == [4, 4, 8, 8]
