"""Can a stage's numbers be read as a result? Broken, suspect, and did it keep up.

A run is BROKEN when its numbers describe a failure rather than the stage:
it did not run to the end, a process of the stage exited while the load ran
(the launcher saw it), or more than MAX_FAILURE_SHARE of its requests failed.
A broken run is shown greyed with its reasons and left out of every ratio.

A run is SUSPECT when it is not broken but something failed (a few requests,
an order that never became final): its numbers stand, with a warning.

With fixed pacing the load is offered at a known rate (users x tasks/s per
user), so a stage that answers too slowly carries fewer tasks than offered: it
did not keep up. That is a result, not a fault, and the summary says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtests.results import AGGREGATED, Series, StageResult
from loadtests.traffic_mix import COUNTED_BY

# Above this share of failed requests the latencies are mostly those of errors (a refused
# connection answers fast), so the run says nothing about the stage's speed.
MAX_FAILURE_SHARE = 0.05
# A stage that carried less than this share of the offered tasks fell behind the load.
KEPT_UP_SHARE = 0.9


@dataclass(frozen=True)
class Verdict:
    broken: list[str] = field(default_factory=list)  # why the numbers are no result
    suspect: list[str] = field(default_factory=list)  # why the numbers need a second look
    offered_tasks: float | None = None  # tasks the fixed pacing asked for (None: think time)
    carried_tasks: float | None = None  # tasks the users ran

    @property
    def is_broken(self) -> bool:
        return bool(self.broken)

    @property
    def carried_share(self) -> float | None:
        if not self.offered_tasks or self.carried_tasks is None:
            return None
        return self.carried_tasks / self.offered_tasks

    @property
    def kept_up(self) -> bool | None:
        share = self.carried_share
        return None if share is None else share >= KEPT_UP_SHARE

    @property
    def status(self) -> str:
        """One word for the table: BROKEN, suspect, behind or ok."""
        if self.broken:
            return "BROKEN"
        if self.suspect:
            return "suspect"
        return "behind" if self.kept_up is False else "ok"


def offered_rate(result: StageResult) -> Series | None:
    """Tasks per second offered over time (users x rate), or None when users think freely."""
    if result.run.get("pacing") != "fixed" or not result.run.get("rate"):
        return None
    users = result.history.get(AGGREGATED, {}).get("users")
    if users is None:
        return None
    rate = float(result.run["rate"])
    return Series([(t, None if u is None else u * rate) for t, u in users.points])


def _integral(series: Series) -> float:
    """The area under a per-second series: each value holds until the next point."""
    points = [(t, v) for t, v in series.points if v is not None]
    return sum(v * (points[i + 1][0] - t) for i, (t, v) in enumerate(points[:-1]))


def _carried_tasks(result: StageResult) -> float | None:
    if not result.entries:
        return None
    runs = sum(e.requests for key in COUNTED_BY.values() if (e := result.entries.get(key)))
    users = result.history.get(AGGREGATED, {}).get("users")
    # Each user loads one catalog page when it starts, counted under browse's entry too.
    landings = max(users.values(), default=0.0) if users else 0.0
    return max(0.0, runs - landings)


def judge(result: StageResult) -> Verdict:
    """The verdict on one stage's run, from its run.json and Locust's numbers."""
    run, total = result.run, result.aggregated
    broken, suspect = [], []
    if run.get("error"):
        broken.append(f"did not run to the end ({run['error']})")
    exited = run.get("exited_during_run") or []
    if exited:
        broken.append(f"{', '.join(exited)} exited while the load ran")
    if total and total.requests:
        share = total.failures / total.requests
        if share > MAX_FAILURE_SHARE:
            broken.append(
                f"{100 * share:.1f}% of requests failed (more than {100 * MAX_FAILURE_SHARE:g}%)"
            )
        elif total.failures:
            suspect.append(f"{total.failures} of {total.requests:,} requests failed")
    elif not run.get("error"):
        broken.append("Locust recorded no request")
    orders = result.orders
    if orders and orders.failures and not broken:
        suspect.append(f"{orders.failures} order(s) never became final")
    offered = offered_rate(result)
    return Verdict(
        broken=broken,
        suspect=suspect,
        offered_tasks=_integral(offered) if offered else None,
        carried_tasks=_carried_tasks(result),
    )
