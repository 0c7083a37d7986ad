"""What a comparison shows, in a few sentences written from the run's own numbers.

The report opens with these lines and the terminal prints them under the
table: each stage's latency and order completion as a ratio to the
monolith's, whether each stage kept up with the offered load, and every
broken or suspect stage named first. A broken stage is left out of the ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadtests.results import StageResult
from loadtests.verdict import KEPT_UP_SHARE, Verdict, judge

BASELINE = "monolith"


@dataclass(frozen=True)
class Line:
    """One sentence of the summary; `level` is "broken", "suspect" or "" (a plain finding)."""

    text: str
    level: str = ""
    stage: str = ""


def _ratio(value: float | None, base: float | None) -> str | None:
    if value is None or not base:
        return None
    return f"{value / base:.1f}x"


def _versus(result: StageResult, base: StageResult) -> str | None:
    """ "latency p50 2.6x, p95 2.6x; order completion p50 3.0x, p95 2.4x" against the base."""
    parts = []
    for label, mine, theirs in (
        ("latency", result.aggregated, base.aggregated),
        ("order completion", result.orders, base.orders),
    ):
        if not (mine and theirs):
            continue
        p50, p95 = _ratio(mine.p50, theirs.p50), _ratio(mine.p95, theirs.p95)
        if p50 and p95:
            parts.append(
                f"{label} p50 {p50} ({mine.p50:,.0f} vs {theirs.p50:,.0f} ms), "
                f"p95 {p95} ({mine.p95:,.0f} vs {theirs.p95:,.0f} ms)"
            )
    return "; ".join(parts) or None


def _load(verdict: Verdict) -> str | None:
    share = verdict.carried_share
    if share is None:
        return None
    done = f"carried {100 * share:.0f}% of the offered tasks"
    if verdict.kept_up:
        return f"{done}: kept up"
    return f"{done}: fell behind (below {100 * KEPT_UP_SHARE:.0f}%)"


def lines(results: list[StageResult]) -> list[Line]:
    """The summary, broken and suspect stages first."""
    verdicts = {r.stage: judge(r) for r in results}
    found: list[Line] = []
    for r in results:
        v = verdicts[r.stage]
        if v.is_broken:
            found.append(
                Line(
                    f"{r.stage} is BROKEN: {'; '.join(v.broken)}. Its numbers are no result "
                    "and are left out of the ratios.",
                    "broken",
                    r.stage,
                )
            )
        elif v.suspect:
            found.append(Line(f"{r.stage} is suspect: {'; '.join(v.suspect)}.", "suspect", r.stage))
    base = next((r for r in results if r.stage == BASELINE), None)
    usable_base = base is not None and not verdicts[base.stage].is_broken
    for r in results:
        v = verdicts[r.stage]
        if v.is_broken:
            continue
        parts = []
        if r.stage != BASELINE and usable_base:
            parts.append(_versus(r, base) and f"against the monolith: {_versus(r, base)}")
        parts.append(_load(v))
        text = "; ".join(p for p in parts if p)
        if text:
            found.append(Line(f"{r.stage}: {text}.", "", r.stage))
    if not usable_base and len(results) > 1:
        found.append(Line("No ratios: the monolith, the baseline, has no usable result here."))
    return found
