"""The figures of issue 11's targets table (and issue 13's tracing cost), measured in one run,
each with its target.

A row is a `Row`: the figure's name, its target as text, and a function that
measures it and returns a `Figure` (the value as printed, and whether it meets
the target). ROWS lists them in the table's order.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from benchmarks import (
    broker_latency,
    function_cold_start,
    product_lookup,
    service_overhead,
    stage_latency,
    tracing_cost,
)


@dataclass(frozen=True)
class Settings:
    """How long each benchmark runs: `quick` for a smoke run, else the full run."""

    quick: bool = False

    @property
    def wrk_seconds(self) -> int:
        return 3 if self.quick else 10

    @property
    def rounds(self) -> int:
        return 2 if self.quick else 3

    @property
    def requests(self) -> int:
        return 80 if self.quick else 400

    @property
    def events(self) -> int:
        return 60 if self.quick else 300


@dataclass(frozen=True)
class Figure:
    value: str  # as printed, e.g. "0.62x" or "3.1 ms"
    met: bool | None  # None: not measured


@dataclass(frozen=True)
class Row:
    figure: str
    target: str
    measure: Callable[[Settings], Figure]


def _ratio(value: float, at_least: float | None = None, at_most: float | None = None) -> Figure:
    met = (at_least is None or value >= at_least) and (at_most is None or value <= at_most)
    return Figure(f"{value:.2f}x", met)


def product_vs_trivial(settings: Settings) -> Figure:
    if missing := product_lookup.wrk_missing():
        return Figure(f"not measured ({missing})", None)
    results = product_lookup.measure(settings.wrk_seconds, 16, settings.rounds)
    by_rps, by_cpu = product_lookup.ratio(results), product_lookup.cpu_ratio(results)
    return Figure(f"{by_rps:.2f}x ({by_cpu:.2f}x by CPU/request)", by_rps >= 0.6)


@cache
def _service_ratios(settings: Settings) -> dict[str, service_overhead.Ratio]:
    """One run of benchmarks/service_overhead.py (every stage, a bare FastAPI app and the
    monolith behind a minimal proxy at once) serves the /healthz, read-path and floor rows."""
    rows = service_overhead.rows(settings.wrk_seconds, settings.rounds)
    return {row.figure: row for row in rows}


def service_ratio(figure: str, at_least: float | None) -> Callable[[Settings], Figure]:
    """The req/s ratio (and the CPU-per-request one beside it); `at_least` None: a figure
    with no target (the floor)."""

    def measure(settings: Settings) -> Figure:
        if missing := product_lookup.wrk_missing():
            return Figure(f"not measured ({missing})", None)
        found = _service_ratios(settings)[figure]
        met = None if at_least is None else found.rps >= at_least
        return Figure(f"{found.rps:.2f}x ({found.cpu:.2f}x by CPU/request)", met)

    return measure


@cache
def _stages(settings: Settings) -> stage_latency.StageRun:
    """One run of the three stages serves both order-completion rows."""
    return stage_latency.run_stages(
        ["monolith", "microservices", "functions"], settings.requests, concurrency=4
    )


def order_completion(stage: str, at_most: float) -> Callable[[Settings], Figure]:
    """The p50 ratio, and the floor its hops and commits set (benchmarks/order_floor.py)."""

    def measure(settings: Settings) -> Figure:
        run = _stages(settings)
        figure = _ratio(run.p50_ratio(stage, stage_latency.ORDERS), at_most=at_most)
        p50, base = (
            stage_latency.percentile(run.results[s][stage_latency.ORDERS], 50)
            for s in (stage, "monolith")
        )
        floor = run.floor_ratio(stage)
        floor_text = "" if floor is None else f"; floor {floor:.2f}x"
        return Figure(f"{figure.value} ({p50:.0f} vs {base:.0f} ms{floor_text})", figure.met)

    return measure


def broker_own_latency(settings: Settings) -> Figure:
    p50, p95 = broker_latency.summary(broker_latency.measure(settings.events))
    return Figure(f"p95 {p95:.1f} ms (p50 {p50:.1f} ms)", p95 <= 5.0)


def cold_start(settings: Settings) -> Figure:
    run = function_cold_start.measure_with_baselines(settings.rounds + 2)
    times, used = run[function_cold_start.COLD]
    wall, cpu = statistics.median(times), statistics.median(used)
    _, over_floor = function_cold_start.floor_ratio(run)
    return Figure(
        f"{wall:.0f} ms median ({cpu:.0f} ms CPU, {over_floor:.2f}x the floor's)", wall <= 500
    )


@cache
def _tracing_costs(settings: Settings) -> dict[tuple[str, str, str], tracing_cost.Cost]:
    """One run of benchmarks/tracing_cost.py per stage serves its tracing rows."""
    found = {}
    for stage in TRACED_STAGES:
        samples = tracing_cost.measure(stage, settings.wrk_seconds, settings.rounds)
        for cost in tracing_cost.costs(stage, samples):
            found[cost.stage, cost.path, cost.setting] = cost
    return found


def tracing(stage: str, ratio: str, at_most: float) -> Callable[[Settings], Figure]:
    """The CPU per request with tracing at `ratio` against tracing off, read path and order."""

    def measure(settings: Settings) -> Figure:
        if missing := product_lookup.wrk_missing():
            return Figure(f"not measured ({missing})", None)
        costs = _tracing_costs(settings)
        read, order = costs[stage, "read", ratio], costs[stage, "order", ratio]
        return Figure(
            f"read {read.cpu_ratio:.2f}x, order {order.cpu_ratio:.2f}x "
            f"(req/s {read.rps_ratio:.2f}x, {order.rps_ratio:.2f}x)",
            max(read.cpu_ratio, order.cpu_ratio) <= at_most,
        )

    return measure


TRACED_STAGES = ("monolith", "microservices")
# The CPU per request tracing may add: at the load runs' ratio, little enough not to change
# the comparison; every request traced (make run-*, one person's clicks) may cost more.
TRACING_TARGETS = {"0": 1.1, "1.0": 2.0}

ROWS: list[Row] = [
    Row("monolith GET /api/products/{sku} vs a trivial endpoint", ">= 0.6x", product_vs_trivial),
    Row(
        "a service's /healthz vs a bare FastAPI app",
        ">= 0.8x",
        service_ratio("a service's /healthz vs a bare FastAPI app, same uvicorn set-up", 0.8),
    ),
    *(
        Row(
            f"read path req/s through the gateway vs the monolith: {stage}",
            ">= 0.5x",
            service_ratio(
                f"{stage} read path req/s vs the monolith (GET {service_overhead.READ_PATH})",
                0.5,
            ),
        )
        for stage in ("microservices", "functions")
    ),
    Row(
        "floor of that: the monolith's read behind a minimal proxy",
        "(no target)",
        service_ratio(service_overhead.FLOOR, None),
    ),
    Row(
        "order completion p50 vs the monolith: microservices",
        "<= 3x",
        order_completion("microservices", 3.0),
    ),
    Row(
        "order completion p50 vs the monolith: functions",
        "<= 4x",
        order_completion("functions", 4.0),
    ),
    Row("broker's own latency per delivery (no handler)", "p95 <= 5 ms", broker_own_latency),
    Row("function cold start (process start to first event)", "<= 500 ms", cold_start),
    *(
        Row(
            f"tracing at ratio {ratio} vs off, CPU/request: {stage}",
            f"<= {at_most:g}x",
            tracing(stage, ratio, at_most),
        )
        for stage in TRACED_STAGES
        for ratio, at_most in TRACING_TARGETS.items()
    ),
]


def run(rows: list[Row], settings: Settings) -> list[tuple[Row, Figure]]:
    measured = []
    for row in rows:
        print(f"==> {row.figure}", flush=True)
        measured.append((row, row.measure(settings)))
    return measured


def render(measured: list[tuple[Row, Figure]]) -> str:
    mark = {True: "met", False: "NOT met", None: "-"}
    width = max(len(row.figure) for row, _ in measured)
    lines = [f"{'figure':<{width}}  {'measured':<46}  {'target':<12}  result"]
    for row, figure in measured:
        lines.append(
            f"{row.figure:<{width}}  {figure.value:<46}  {row.target:<12}  {mark[figure.met]}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument("--only", nargs="*", type=int, help="row numbers (1-based) to run")
    args = parser.parse_args(argv)
    rows = [r for i, r in enumerate(ROWS, 1) if not args.only or i in args.only]
    measured = run(rows, Settings(quick=args.quick))
    print("\n" + render(measured))
    return 0
