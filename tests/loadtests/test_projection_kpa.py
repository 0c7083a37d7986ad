"""The KPA's formulas against Knative's autoscaling documentation's examples, and by hand.

Pages of the Knative documentation (knative/docs, docs/serving/autoscaling/): "Configuring
concurrency" (concurrency.md), "Autoscale Sample App - Go" (autoscale-go/README.md),
"Additional autoscaling configuration for Knative Pod Autoscaler" (kpa-specific.md),
"Configuring scale to zero" (scale-to-zero.md).
"""

from __future__ import annotations

import pytest

from loadtests.projection.kpa import KpaController, KpaPolicy, desired_pods


def test_fifty_concurrent_requests_at_a_target_of_ten_make_five_pods() -> None:
    # autoscale-go, "Algorithm": 50 concurrent requests / target of 10 = 5 pods (that
    # sample aims at its full target: a utilisation of 100%).
    policy = KpaPolicy(target=10, target_utilization=100)
    assert desired_pods(50, policy) == 5


def test_target_utilisation_scales_before_the_hard_limit() -> None:
    # concurrency.md, "Target utilization": containerConcurrency 10 at 70% -> a new
    # replica once the average concurrency per replica passes 7.
    policy = KpaPolicy(container_concurrency=10, target_utilization=70)
    assert policy.target_per_pod == 7.0
    assert desired_pods(7, policy) == 1
    assert desired_pods(7.5, policy) == 2
    assert desired_pods(70, policy) == 10


def test_the_smaller_of_the_soft_target_and_the_hard_limit_is_used() -> None:
    # concurrency.md: "If both a soft and a hard limit are specified, the smaller of the
    # two values will be used."
    assert KpaPolicy(target=200, container_concurrency=10).target_per_pod == 7.0
    assert KpaPolicy(target=3, container_concurrency=4).target_per_pod == pytest.approx(2.1)


def test_the_panic_window_is_a_tenth_of_the_stable_window() -> None:
    # kpa-specific.md: stable window 60 s, panic-window-percentage 10 -> 6 s.
    assert KpaPolicy().panic_window_s == 6.0


def test_max_scale_caps_the_pods() -> None:
    policy = KpaPolicy(target=10, target_utilization=100, max_scale=4)
    controller = KpaController(policy, pods=1)
    for now in range(0, 61):
        controller.observe(now, 100.0)
    assert controller.decide(60, ready=4) == 4
    assert desired_pods(100, policy) == 10  # what it would ask for without the cap


def _steady(controller: KpaController, value: float, start: int, end: int) -> None:
    for now in range(start, end):
        controller.observe(now, value)


def test_panic_mode_on_a_spike() -> None:
    """5 in flight for a minute on one pod (target 10), then 40 for 6 s: the stable
    window's average is 8.5 (1 pod) but the panic window's is 40, 4 pods, which is 4x
    what the 1 ready pod carries (>= the 200% threshold): panic, 4 pods at once."""
    policy = KpaPolicy(target=10, target_utilization=100)
    controller = KpaController(policy, pods=1)
    _steady(controller, 5.0, -60, 0)
    _steady(controller, 40.0, 0, 6)
    assert desired_pods(8.5, policy) == 1
    assert controller.decide(5, ready=1) == 4
    assert controller.panicking


def test_no_scale_down_while_panicking_then_back_to_stable() -> None:
    """After the spike the load falls back to 5: panic keeps the 4 pods for a stable
    window after its condition last held, then the stable window rules (1 pod)."""
    policy = KpaPolicy(target=10, target_utilization=100)
    controller = KpaController(policy, pods=1)
    _steady(controller, 5.0, -60, 0)
    _steady(controller, 40.0, 0, 6)
    controller.decide(5, ready=1)
    pods = {}
    for now in range(6, 140):
        controller.observe(now, 5.0)
        if now % 2 == 0:
            pods[now] = controller.decide(now, ready=controller.pods)
    assert {pods[t] for t in range(6, 64, 2)} == {4}  # panic held until 5 + 60 s
    assert pods[138] == 1
    assert not controller.panicking


def test_scale_to_zero_after_the_stable_window_and_the_grace_period() -> None:
    """Traffic stops after t=0. The last pod is removed only once a whole stable window
    (60 s) saw no traffic (t=60), and then after the 30 s grace period: t=90."""
    policy = KpaPolicy(target=10, target_utilization=100, min_scale=0)
    controller = KpaController(policy, pods=1)
    _steady(controller, 1.0, -60, 1)
    pods = {}
    for now in range(1, 101):
        controller.observe(now, 0.0)
        if now % 2 == 0:
            pods[now] = controller.decide(now, ready=controller.pods)
    assert {pods[t] for t in range(2, 90, 2)} == {1}
    assert pods[90] == 0
    assert pods[100] == 0


def test_min_scale_one_never_goes_to_zero() -> None:
    policy = KpaPolicy(target=10, target_utilization=100, min_scale=1)
    controller = KpaController(policy, pods=1)
    for now in range(0, 200):
        controller.observe(now, 0.0)
    assert controller.decide(200, ready=1) == 1


def test_scale_down_is_at_most_halving_per_decision() -> None:
    # kpa-specific.md, "Scale down rate": 2.0 -> from N to N/2 in one evaluation.
    policy = KpaPolicy(target=10, target_utilization=100)
    controller = KpaController(policy, pods=8)
    _steady(controller, 10.0, -60, 1)  # a stable average of 1 pod's worth
    assert controller.decide(0, ready=8) == 4
