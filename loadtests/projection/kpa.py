"""Knative's Pod Autoscaler (KPA), as Knative Serving's documentation states it.

Sources, the Knative documentation's "Autoscaling" pages (knative.dev/docs/serving/autoscaling/):

- "Configuring concurrency": the soft target (`autoscaling.knative.dev/target`, default
  100) and the hard limit (`containerConcurrency`); when both are set the smaller one is
  used; the target utilisation (default 70%) is the share of that target actually
  aimed at ("containerConcurrency 10, target utilisation 70: a new replica when the
  average concurrency across the replicas reaches 7").
- "Autoscale Sample App - Go" (autoscale-go), "Algorithm": pods = observed concurrency /
  target per pod ("50 concurrent requests / target of 10 = 5 pods"); the stable window
  (60 s) averages the concurrency; the panic window (6 s) enters panic mode when it
  reaches 2x the target, and panic ends once its conditions have not held for 60 s.
- "Additional autoscaling configuration for Knative Pod Autoscaler" (kpa-specific):
  stable window 60 s; panic window 10% of it; panic threshold 200% ("traffic twice as
  high as the current replica population can handle"); in panic mode the revision does
  not scale down; the last replica is removed only after no traffic for the whole
  stable window; scale rates (up 1000x, down 2x per evaluation, at least one replica
  either way).
- "Configuring scale to zero": scale-to-zero-grace-period 30 s, an upper bound on how
  long the last replica stays once the autoscaler decided on zero; the projection takes
  the bound, so a pod costs as long as it may.
- "Configuring scale bounds": min-scale (0 by default, so to zero) and max-scale (0: no
  bound).

The autoscaler decides every 2 s (Knative Serving's autoscaler tick), on the
concurrency the queue-proxies report each second.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

STABLE_WINDOW_S = 60.0
PANIC_WINDOW_PERCENTAGE = 10.0
PANIC_THRESHOLD_PERCENTAGE = 200.0
SCALE_TO_ZERO_GRACE_S = 30.0
TARGET_UTILIZATION = 70.0
CONCURRENCY_TARGET_DEFAULT = 100.0
RPS_TARGET_DEFAULT = 200.0
MAX_SCALE_UP_RATE = 1000.0
MAX_SCALE_DOWN_RATE = 2.0
TICK_S = 2.0
EPSILON = 1e-9


@dataclass(frozen=True)
class KpaPolicy:
    """What one Knative Service's revision template says about its scaling."""

    metric: str = "concurrency"  # or "rps"
    target: float = CONCURRENCY_TARGET_DEFAULT
    target_utilization: float = TARGET_UTILIZATION  # percent
    container_concurrency: int = 0  # 0: no hard limit
    min_scale: int = 0
    max_scale: int = 0  # 0: no bound
    stable_window_s: float = STABLE_WINDOW_S
    panic_window_percentage: float = PANIC_WINDOW_PERCENTAGE
    panic_threshold_percentage: float = PANIC_THRESHOLD_PERCENTAGE
    scale_to_zero_grace_s: float = SCALE_TO_ZERO_GRACE_S
    max_scale_up_rate: float = MAX_SCALE_UP_RATE
    max_scale_down_rate: float = MAX_SCALE_DOWN_RATE
    tick_s: float = TICK_S

    @property
    def target_per_pod(self) -> float:
        """The metric's value one pod is meant to carry: the smaller of the soft target
        and the hard limit (concurrency only), times the target utilisation."""
        target = self.target
        if self.metric == "concurrency" and self.container_concurrency > 0:
            target = min(target, self.container_concurrency)
        return target * self.target_utilization / 100.0

    @property
    def panic_window_s(self) -> float:
        return self.stable_window_s * self.panic_window_percentage / 100.0

    def bounded(self, pods: int) -> int:
        pods = max(pods, self.min_scale)
        return min(pods, self.max_scale) if self.max_scale > 0 else pods


def desired_pods(observed: float, policy: KpaPolicy) -> int:
    """ceil(observed concurrency (or rps) / (target * target utilisation)), unbounded."""
    if observed <= 0:
        return 0
    return math.ceil(observed / policy.target_per_pod - EPSILON)


@dataclass
class KpaController:
    """One revision's autoscaler: the reported metric, the mode, the pods it asks for."""

    policy: KpaPolicy
    pods: int
    _samples: deque[tuple[float, float]] = field(default_factory=deque)
    _panic_until: float | None = None  # panic ends here unless its condition holds again
    _zero_since: float | None = None  # when the autoscaler first wanted zero pods
    panics: list[tuple[float, float]] = field(default_factory=list)  # (start, end)

    @property
    def panicking(self) -> bool:
        return self._panic_until is not None

    def observe(self, now: float, value: float) -> None:
        """The metric the queue-proxies report at `now` (concurrency or rps, all pods)."""
        self._samples.append((now, value))
        while self._samples and now - self._samples[0][0] >= self.policy.stable_window_s:
            self._samples.popleft()

    def _average(self, now: float, window: float) -> float:
        values = [v for at, v in self._samples if now - at < window]
        return sum(values) / len(values) if values else 0.0

    def decide(self, now: float, ready: int) -> int:
        """One evaluation at `now` with `ready` pods serving: the pods it asks for."""
        policy = self.policy
        stable = desired_pods(self._average(now, policy.stable_window_s), policy)
        panic = desired_pods(self._average(now, policy.panic_window_s), policy)
        # Panic when the short window asks for threshold x what the ready pods can carry.
        if panic / max(ready, 1) >= policy.panic_threshold_percentage / 100.0:
            if self._panic_until is None:
                self.panics.append((now, now))
            self._panic_until = now + policy.stable_window_s
        elif self._panic_until is not None and now >= self._panic_until:
            self._panic_until = None
        if self._panic_until is not None:
            start, _ = self.panics[-1]
            self.panics[-1] = (start, now)
            wanted = max(panic, self.pods)  # no scale down while panicking
        else:
            wanted = stable
        wanted = self._rate_limited(wanted, ready)
        wanted = policy.bounded(wanted)
        self.pods = self._after_grace(now, wanted)
        return self.pods

    def _rate_limited(self, wanted: int, ready: int) -> int:
        base = max(ready, 1)
        most = max(math.ceil(base * self.policy.max_scale_up_rate), base + 1)
        fewest = min(math.floor(ready / self.policy.max_scale_down_rate), ready - 1)
        if ready == 0:
            return min(wanted, most)
        return min(max(wanted, fewest), most)

    def _after_grace(self, now: float, wanted: int) -> int:
        """Zero only once the grace period has passed since the autoscaler chose zero."""
        if wanted > 0 or self.pods == 0:
            self._zero_since = None
            return wanted
        if self._zero_since is None:
            self._zero_since = now
        if now - self._zero_since >= self.policy.scale_to_zero_grace_s:
            self._zero_since = None
            return 0
        return 1
