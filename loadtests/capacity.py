"""Capacity: the highest load a stage sustains on this machine, and what stopped it.

The ramp (loadtests.capacity_run) raises the offered load step by step (the
`ramp` shape of loadtests.shapes: more users, each paced at a fixed rate) and,
after each step, asks this module whether to go on. Everything here is pure:
it reads the figures of finished steps and decides.

- A step is **sustained** when it met the objective: the read path's p95 and
  the order completion p95 within their thresholds, errors within theirs, and
  at least `carried_share` of the offered tasks carried (a stage that answers
  too slowly runs fewer tasks than its users are paced for).
- The ramp **stops** at the first step that is not sustained, or as soon as the
  load generator (Locust) was near a full core: going higher would measure Locust.
- A step that broke while Locust, or other work than the stage and Locust, filled
  the cores is **generator bound**: the break cannot be laid on the stage.
- The **capacity** is the throughput (HTTP requests/s answered) of the highest
  sustained step before the stop. It is the stage's limit only when the stage
  broke the objective while Locust and the machine had room; otherwise it is a
  lower bound ("at least"), and the reason is said instead of a limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from loadtests.resource_use import LOCUST_BUSY
from loadtests.verdict import KEPT_UP_SHARE

# The machine counts as saturated when its busy cores reach this share of its cores...
HOST_SATURATED = 0.9
# ...and as taken by others when, beside the stage and Locust, other work kept at least
# this many cores busy meanwhile.
OTHERS_CORES = 0.5
# A process at this share of one core or more is CPU-bound (a Python process holds about one).
CPU_BOUND = 0.8

# The kinds of conclusion.
STAGE_LIMIT = "stage limit"  # the stage broke the objective while Locust and the machine had room
GENERATOR_BOUND = "Locust or machine bound"  # Locust, or other work on the machine, held it back
NOT_REACHED = "not reached"  # every step was sustained: the limit is above the ramp
BELOW_RAMP = "below the ramp"  # the first step already broke the objective
NO_DATA = "no data"


@dataclass(frozen=True)
class Objective:
    """What a step must meet to count as sustained (thresholds, inclusive).

    read_p95_ms   -- p95 of the read path (catalog pages, search, product, stock), ms
    order_p95_ms  -- p95 of order completion (POST until final), ms
    error_rate    -- failed requests and orders over all of them (0.01: 1%)
    carried_share -- carried tasks over offered tasks, at least
    """

    read_p95_ms: float = 250.0
    order_p95_ms: float = 1000.0
    error_rate: float = 0.01
    carried_share: float = KEPT_UP_SHARE

    def describe(self) -> str:
        return (
            f"read p95 <= {self.read_p95_ms:g} ms, order completion p95 <= "
            f"{self.order_p95_ms:g} ms, errors <= {100 * self.error_rate:g}%, "
            f">= {100 * self.carried_share:g}% of the offered tasks carried"
        )


@dataclass(frozen=True)
class Busy:
    """CPU over one step (None: not measured, e.g. a remote stage).

    hot          -- the stage's component whose busiest process used the largest share of a core
    hot_share    -- that share (1.0: one full core)
    stage_cores  -- cores the stage's processes kept busy on average
    locust_share -- Locust's busiest process, share of one core
    locust_cores -- cores Locust kept busy on average
    host_cores   -- the whole machine's busy cores on average, whoever used them
    cpus         -- the machine's cores
    """

    hot: str | None = None
    hot_share: float | None = None
    stage_cores: float | None = None
    locust_share: float | None = None
    locust_cores: float | None = None
    host_cores: float | None = None
    cpus: int | None = None

    @property
    def others_cores(self) -> float | None:
        """Cores other work than the stage and Locust kept busy."""
        if self.host_cores is None:
            return None
        return max(0.0, self.host_cores - (self.stage_cores or 0.0) - (self.locust_cores or 0.0))


@dataclass(frozen=True)
class Step:
    """One step of the ramp, over its measured window (after the users were started).

    offered_tasks_per_s -- users x tasks/s per user
    carried_tasks_per_s -- tasks the users ran per second
    requests_per_s      -- HTTP requests answered per second: the throughput
    """

    number: int
    users: int
    seconds: float
    offered_tasks_per_s: float
    carried_tasks_per_s: float
    requests_per_s: float
    read_p95_ms: float | None
    order_p95_ms: float | None
    orders: int
    error_rate: float
    busy: Busy = field(default_factory=Busy)
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def carried_share(self) -> float:
        offered = self.offered_tasks_per_s
        return self.carried_tasks_per_s / offered if offered else 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Step:
        return cls(**{**data, "busy": Busy(**data.get("busy", {}))})


def breaches(step: Step, objective: Objective) -> list[str]:
    """What of the objective the step broke (empty: it was sustained). A percentile with
    no sample in the step (no order finished) breaks nothing."""
    found = []
    if step.read_p95_ms is not None and step.read_p95_ms > objective.read_p95_ms:
        found.append(f"read p95 {step.read_p95_ms:,.0f} ms > {objective.read_p95_ms:g}")
    if step.order_p95_ms is not None and step.order_p95_ms > objective.order_p95_ms:
        found.append(f"order p95 {step.order_p95_ms:,.0f} ms > {objective.order_p95_ms:g}")
    if step.error_rate > objective.error_rate:
        found.append(f"errors {100 * step.error_rate:.1f}% > {100 * objective.error_rate:g}%")
    if step.carried_share < objective.carried_share:
        found.append(f"carried {100 * step.carried_share:.0f}% of the offered tasks")
    return found


def sustained(step: Step, objective: Objective) -> bool:
    return not breaches(step, objective)


def generator_bound(step: Step) -> str | None:
    """Why the load generator, not the stage, was the bottleneck in this step (None: it was
    not): Locust's busiest process near a full core, or the machine's cores full with
    other work than the stage and Locust."""
    busy = step.busy
    if locust_bound(step):
        return f"Locust's busiest process used {100 * (busy.locust_share or 0):.0f}% of a core"
    others = busy.others_cores
    if (
        busy.host_cores is not None
        and busy.cpus
        and busy.host_cores >= HOST_SATURATED * busy.cpus
        and others is not None
        and others >= OTHERS_CORES
    ):
        return (
            f"the machine's cores were full ({busy.host_cores:.1f} of {busy.cpus} busy), "
            f"{others:.1f} of them with other work than the stage and Locust"
        )
    return None


def locust_bound(step: Step) -> bool:
    """Locust's busiest process was near a full core: it cannot offer more than this."""
    share = step.busy.locust_share
    return share is not None and share >= LOCUST_BUSY


def should_stop(steps: list[Step], objective: Objective) -> bool:
    """After the last step: stop the ramp? It broke the objective (whatever the cause), or
    Locust was near its own limit, so a higher step would measure Locust. A step that held
    while other work filled the machine still counts: the stage held despite it."""
    last = steps[-1] if steps else None
    return last is not None and (not sustained(last, objective) or locust_bound(last))


@dataclass(frozen=True)
class Capacity:
    """The ramp's conclusion for one stage.

    kind            -- STAGE_LIMIT, GENERATOR_BOUND, NOT_REACHED, BELOW_RAMP or NO_DATA
    requests_per_s  -- the highest sustained step's throughput (None: no step was sustained)
    lower_bound     -- True when the stage may sustain more (the ramp or Locust stopped first)
    stop_step       -- the step that stopped the ramp (None: the ramp ran out)
    reasons         -- what broke there, or why the generator was the bottleneck
    hot, hot_share  -- the stage's hot component at the stop (else at the last step)
    """

    kind: str
    requests_per_s: float | None = None
    users: int | None = None
    lower_bound: bool = False
    stop_step: int | None = None
    reasons: list[str] = field(default_factory=list)
    hot: str | None = None
    hot_share: float | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Capacity:
        return cls(**data)

    def headline(self) -> str:
        """The capacity in a few words: '412 req/s', 'at least 412 req/s', 'below ...'."""
        if self.requests_per_s is None:
            return "below the ramp's first step" if self.kind == BELOW_RAMP else "-"
        return f"{'at least ' if self.lower_bound else ''}{self.requests_per_s:,.0f} req/s"

    def limit(self) -> str:
        """What stopped the ramp, in one sentence."""
        hot = _hot_text(self.hot, self.hot_share)
        if self.kind == GENERATOR_BOUND:
            return f"not the stage's limit: {'; '.join(self.reasons)}"
        if self.kind == NOT_REACHED:
            return f"no limit within the ramp (busiest: {hot})"
        if self.kind == NO_DATA:
            return "no step finished"
        return f"{'; '.join(self.reasons)}; hot component {hot}"


def _hot_text(hot: str | None, share: float | None) -> str:
    if hot is None or share is None:
        return "not measured"
    bound = ", CPU-bound" if share >= CPU_BOUND else ""
    return f"{hot} at {100 * share:.0f}% of a core{bound}"


def conclude(steps: list[Step], objective: Objective) -> Capacity:
    """The capacity from the steps run, in order (the ramp stopped after the last one, or
    ran out of steps)."""
    if not steps:
        return Capacity(NO_DATA)
    best: Step | None = None
    for step in steps:
        held = sustained(step, objective)
        if held:
            best = step if best is None or step.requests_per_s >= best.requests_per_s else best
            if not locust_bound(step):
                continue
        # The ramp stops here. A break while Locust or the machine's other work was the
        # bottleneck cannot be laid on the stage: its figure is then a lower bound.
        bound = generator_bound(step)
        if bound:
            return _capacity(GENERATOR_BOUND, best, step, [bound], lower_bound=True)
        kind = STAGE_LIMIT if best is not None else BELOW_RAMP
        return _capacity(kind, best, step, breaches(step, objective), lower_bound=False)
    return _capacity(NOT_REACHED, best, None, [], lower_bound=True, hot_of=steps[-1])


def _capacity(
    kind: str,
    best: Step | None,
    stop: Step | None,
    reasons: list[str],
    lower_bound: bool,
    hot_of: Step | None = None,
) -> Capacity:
    where = stop or hot_of
    return Capacity(
        kind=kind,
        requests_per_s=best.requests_per_s if best else None,
        users=best.users if best else None,
        lower_bound=lower_bound,
        stop_step=stop.number if stop else None,
        reasons=reasons,
        hot=where.busy.hot if where else None,
        hot_share=where.busy.hot_share if where else None,
    )


def step_line(step: Step, objective: Objective, total: int) -> str:
    """The progress line of one step: offered, achieved, p95s, errors, CPU, verdict."""
    found = breaches(step, objective)
    bound = generator_bound(step)
    verdict = "sustained" if not found else "BROKE: " + "; ".join(found)
    if bound and (found or locust_bound(step)):
        verdict += f" (generator bound: {bound})"
    elif bound:
        verdict += f" (though {bound})"
    read = "-" if step.read_p95_ms is None else f"{step.read_p95_ms:,.0f}"
    order = "-" if step.order_p95_ms is None else f"{step.order_p95_ms:,.0f}"
    busy = step.busy
    cpu = ""
    if busy.hot is not None and busy.hot_share is not None:
        cpu += f", hot {busy.hot} {100 * busy.hot_share:.0f}%"
    if busy.locust_share is not None:
        cpu += f", Locust {100 * busy.locust_share:.0f}%"
    return (
        f"    step {step.number}/{total}: {step.users} users, offered "
        f"{step.offered_tasks_per_s:,.0f} tasks/s, carried {step.carried_tasks_per_s:,.0f}, "
        f"{step.requests_per_s:,.0f} req/s, read p95 {read} ms, order p95 {order} ms, "
        f"errors {100 * step.error_rate:.1f}%{cpu}: {verdict}"
    )
