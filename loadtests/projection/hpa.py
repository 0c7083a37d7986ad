"""Kubernetes' HorizontalPodAutoscaler (autoscaling/v2), as its documentation states it.

Source: the Kubernetes documentation page "Horizontal Pod Autoscaling"
(kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/,
formerly /docs/tasks/run-application/horizontal-pod-autoscale/):

- "Algorithm details": desiredReplicas = ceil[currentReplicas * (currentMetricValue /
  desiredMetricValue)]; no scaling when the ratio is within the tolerance (0.1 by
  default) of 1.0; a CPU utilisation is a percentage of the pods' CPU request; pods
  not yet ready are set aside, and on a scale up counted again as using 0% of the
  target, which dampens it (and no scaling if that reverses the direction or lands
  within the tolerance). The control loop runs every sync period (15 s by default).
- "Configurable scaling behavior": scaling policies (Pods or Percent per periodSeconds;
  selectPolicy Max, the default, picks the policy allowing the largest change, Min the
  smallest, Disabled none), the stabilisation window (scale down uses the highest
  recommendation of the window), and the default behaviour when none is given.

The stabilisation window of a scale *up* takes the lowest recommendation of its window
(KEP-853 "Configurable scale velocity for HPA", which introduced `behavior`). What the
documentation leaves to the metrics pipeline (metrics-server's scrape interval) is left
out: a pod's CPU is known at every sync.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

SYNC_PERIOD_S = 15.0  # --horizontal-pod-autoscaler-sync-period's default
TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance's default
EPSILON = 1e-9  # so that 2 * (0.7 / 0.7) stays 2 under ceil


@dataclass(frozen=True)
class ScalingPolicy:
    """One rate limit: at most `value` pods (type Pods) or `value`% of the pods (type
    Percent) added or removed within any `period_seconds`."""

    type: str
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """behavior.scaleUp or behavior.scaleDown."""

    stabilization_window_seconds: int
    select_policy: str
    policies: tuple[ScalingPolicy, ...]


# The documented defaults ("Default Behavior"), used for a direction the HPA leaves out.
DEFAULT_SCALE_UP = ScalingRules(
    0, "Max", (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15))
)
DEFAULT_SCALE_DOWN = ScalingRules(300, "Max", (ScalingPolicy("Percent", 100, 15),))


@dataclass(frozen=True)
class HpaPolicy:
    """What one HorizontalPodAutoscaler says: bounds, CPU target and behaviour."""

    min_replicas: int
    max_replicas: int
    target_utilization: float  # percent of the pods' CPU request
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    tolerance: float = TOLERANCE
    sync_period_s: float = SYNC_PERIOD_S


def desired_replicas(
    current: int, current_metric: float, desired_metric: float, tolerance: float = TOLERANCE
) -> int:
    """ceil(current * current_metric / desired_metric), or `current` within the tolerance."""
    ratio = current_metric / desired_metric
    if abs(ratio - 1.0) <= tolerance + EPSILON:
        return current
    return math.ceil(current * ratio - EPSILON)


def recommendation(
    policy: HpaPolicy, current: int, ready: int, usage_cores: float, cpu_request: float
) -> int:
    """The replicas the metric asks for, before stabilisation, policies and bounds.

    `current` pods exist, `ready` of them are ready and use `usage_cores` between them;
    the others are still starting. Utilisation is over the ready pods; a scale up is
    checked again with the starting pods counted at 0% (the documented dampening)."""
    if ready <= 0:
        return current  # no pod reports a metric yet: nothing to act on
    utilization = 100.0 * usage_cores / (ready * cpu_request)
    proposal = desired_replicas(ready, utilization, policy.target_utilization, policy.tolerance)
    if proposal == ready:
        return current
    starting = current - ready
    if proposal > ready and starting > 0:
        dampened = 100.0 * usage_cores / (current * cpu_request)
        ratio = dampened / policy.target_utilization
        if ratio <= 1.0 + policy.tolerance + EPSILON:
            return current  # within the tolerance, or the direction reversed: no action
        return math.ceil(current * ratio - EPSILON)
    return proposal


def _select(limits: list[int], select_policy: str, *, up: bool) -> int:
    """Max picks the policy allowing the largest change, Min the smallest."""
    largest_change = max(limits) if up else min(limits)
    smallest_change = min(limits) if up else max(limits)
    return largest_change if select_policy == "Max" else smallest_change


def scale_up_limit(rules: ScalingRules, replicas_at_period_start: Sequence[int]) -> int:
    """The most replicas the scale-up policies allow; one start per policy (the replicas
    there were `period_seconds` ago, before this period's additions)."""
    limits = []
    for policy, start in zip(rules.policies, replicas_at_period_start, strict=True):
        if policy.type == "Pods":
            limits.append(start + policy.value)
        else:
            limits.append(math.ceil(start * (1 + policy.value / 100) - EPSILON))
    return _select(limits, rules.select_policy, up=True)


def scale_down_limit(rules: ScalingRules, replicas_at_period_start: Sequence[int]) -> int:
    """The fewest replicas the scale-down policies allow (a Percent removal rounds up:
    the documentation's 72 replicas at 10% remove 8, not 7.2)."""
    limits = []
    for policy, start in zip(rules.policies, replicas_at_period_start, strict=True):
        if policy.type == "Pods":
            limits.append(start - policy.value)
        else:
            limits.append(math.floor(start * (1 - policy.value / 100) + EPSILON))
    return _select(limits, rules.select_policy, up=False)


@dataclass
class HpaController:
    """One HPA's state across syncs: its recommendations and its scale events."""

    policy: HpaPolicy
    replicas: int
    _recommendations: list[tuple[float, int]] = field(default_factory=list)
    _events: list[tuple[float, int]] = field(default_factory=list)  # (time, change)

    def _start_of_period(self, now: float, period: float, *, up: bool) -> int:
        changed = sum(
            change for at, change in self._events if now - at < period and (change > 0) == up
        )
        return self.replicas - changed

    def sync(self, now: float, ready: int, usage_cores: float, cpu_request: float) -> int:
        """One pass of the control loop at `now` (seconds): the replicas it sets."""
        policy = self.policy
        wanted = recommendation(policy, self.replicas, ready, usage_cores, cpu_request)
        wanted = min(max(wanted, policy.min_replicas), policy.max_replicas)
        self._recommendations.append((now, wanted))
        up_window = policy.scale_up.stabilization_window_seconds
        down_window = policy.scale_down.stabilization_window_seconds
        # A scale up takes the lowest recommendation of its window, a scale down the highest.
        up_to = min(n for at, n in self._recommendations if now - at <= up_window)
        down_to = max(n for at, n in self._recommendations if now - at <= down_window)
        stabilized = self.replicas
        if stabilized < up_to:
            stabilized = up_to
        if stabilized > down_to:
            stabilized = down_to
        horizon = max(up_window, down_window, *self._periods())
        self._recommendations = [(at, n) for at, n in self._recommendations if now - at <= horizon]
        new = self._limited(now, stabilized)
        if new != self.replicas:
            self._events.append((now, new - self.replicas))
            self.replicas = new
        return self.replicas

    def _periods(self) -> list[int]:
        rules = (*self.policy.scale_up.policies, *self.policy.scale_down.policies)
        return [p.period_seconds for p in rules] or [0]

    def _limited(self, now: float, stabilized: int) -> int:
        rules_up, rules_down = self.policy.scale_up, self.policy.scale_down
        if stabilized > self.replicas:
            if rules_up.select_policy == "Disabled" or not rules_up.policies:
                return self.replicas
            starts = [
                self._start_of_period(now, p.period_seconds, up=True) for p in rules_up.policies
            ]
            stabilized = min(stabilized, scale_up_limit(rules_up, starts))
        elif stabilized < self.replicas:
            if rules_down.select_policy == "Disabled" or not rules_down.policies:
                return self.replicas
            starts = [
                self._start_of_period(now, p.period_seconds, up=False) for p in rules_down.policies
            ]
            stabilized = max(stabilized, scale_down_limit(rules_down, starts))
        return min(max(stabilized, self.policy.min_replicas), self.policy.max_replicas)


def settled_replicas(policy: HpaPolicy, usage_cores: float, cpu_request: float) -> int:
    """The replicas the HPA settles at under a steady CPU demand, unbounded by maxReplicas
    (the caller caps it and says so): the formula applied from minReplicas until it stops
    changing."""
    replicas = policy.min_replicas
    for _ in range(100):
        utilization = 100.0 * usage_cores / (replicas * cpu_request)
        wanted = desired_replicas(
            replicas, utilization, policy.target_utilization, policy.tolerance
        )
        wanted = max(wanted, policy.min_replicas)
        if wanted == replicas:
            return replicas
        replicas = wanted
    return replicas
