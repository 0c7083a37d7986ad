"""The broker's statistics (GET /stats): counts per trigger and the delivery lag."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

LAGS_KEPT = 100_000  # the lag percentiles are of the newest deliveries only


@dataclass
class Stats:
    """Counts and the delivery lag (ingest to the subscriber's 2xx) of delivered events."""

    counts: Counter[str] = field(default_factory=Counter)
    by_trigger: dict[str, Counter[str]] = field(default_factory=dict)
    lags_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LAGS_KEPT))

    def add(self, name: str, trigger: str | None = None, amount: int = 1) -> None:
        self.counts[name] += amount
        if trigger is not None:
            self.by_trigger.setdefault(trigger, Counter())[name] += amount

    def reset(self) -> None:
        self.counts.clear()
        self.by_trigger.clear()
        self.lags_ms.clear()

    def snapshot(self, in_flight: int) -> dict[str, Any]:
        lags = sorted(self.lags_ms)
        keys = (
            "ingested",
            "refused",
            "delivered",
            "retried",
            "dead_lettered",
            "replies",
            "attempts",
        )
        return {
            **{key: self.counts[key] for key in keys},
            "in_flight": in_flight,
            "pings": {"sent": self.counts["pings_sent"], "failed": self.counts["pings_failed"]},
            "lag_ms": {
                "count": len(lags),
                "p50": percentile(lags, 50),
                "p95": percentile(lags, 95),
                "max": round(lags[-1], 1) if lags else None,
            },
            "by_trigger": {name: dict(counts) for name, counts in sorted(self.by_trigger.items())},
        }


def percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None for no values)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * percent // 100))
    return round(ordered[int(rank) - 1], 1)
