"""Latency p50 / p95 of GET /api/products/{sku} and POST /api/orders, stage by stage.

The same client (httpx, a few concurrent threads, the same request mix) is
pointed at each stage in turn, round after round with every stage running, so
the ratios between stages mean something even on a busy machine. For the split
stages it also prints the floor their hops and commits set (order_floor.py).

    .venv/bin/python -m benchmarks.stage_latency --stages monolith microservices
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks import order_floor
from shop.telemetry.trace_files import read_spans
from stages.definitions import STAGES, TRACES, StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

FINAL = {"confirmed", "rejected"}
ORDERS = "POST /api/orders"
POLL = 0.01  # seconds between a client's GETs of an order that is not final yet


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


@dataclass
class Measured:
    """Latencies by endpoint; the orders placed, and each poll's GET (ms)."""

    latencies: dict[str, list[float]]
    orders: list[str]
    polls: list[float]


def measure(url: str, requests: int, concurrency: int) -> Measured:
    orders: list[str] = []
    polls: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:

        def get(i: int) -> float:
            sku = f"TF-{i % 60 + 1:04d}"
            return _timed(lambda: client.get(f"/api/products/{sku}").raise_for_status())

        def order(i: int) -> float:
            body = {
                "email": f"bench-{i}@example.com",
                "payment_token": "tok_visa",
                "lines": [{"sku": f"TF-{i % 60 + 1:04d}", "quantity": 1}],
            }

            def place() -> None:
                answer = client.post("/api/orders", json=body).raise_for_status().json()
                while answer["status"] not in FINAL:  # a stage that finishes later
                    time.sleep(POLL)
                    started = time.perf_counter()
                    answer = client.get(f"/api/orders/{answer['id']}").raise_for_status().json()
                    polls.append((time.perf_counter() - started) * 1000)
                orders.append(answer["id"])

            return _timed(place)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(get, range(20)))  # warm-up
            gets = list(pool.map(get, range(requests)))
            placed = list(pool.map(order, range(requests // 4)))
    return Measured({"GET /api/products/{sku}": gets, "POST /api/orders": placed}, orders, polls)


@dataclass
class StageRun:
    """What one run of the stages measured: latencies per stage and endpoint, broker stats,
    and what a split stage's order floor is made of (benchmarks/order_floor.py)."""

    results: dict[str, dict[str, list[float]]]
    broker_stats: dict[str, dict]
    hops: dict[str, list[list[float]]] = field(default_factory=dict)  # per order, by stage
    polls: dict[str, list[float]] = field(default_factory=dict)  # each poll's GET, by stage
    commit_ms: float = 0.0

    def p50_ratio(self, stage: str, endpoint: str, base: str = "monolith") -> float:
        return percentile(self.results[stage][endpoint], 50) / percentile(
            self.results[base][endpoint], 50
        )

    def floor(self, stage: str, base: str = "monolith") -> order_floor.Floor | None:
        """The stage's order floor against `base`'s p50 (None: no traces, or no base)."""
        if base not in self.results or stage not in order_floor.WRITE_TRANSACTIONS:
            return None
        polls = self.polls.get(stage)
        poll_ms = POLL * 1000 / 2 + statistics.median(polls) if polls else 0.0
        base_p50 = percentile(self.results[base][ORDERS], 50)
        return order_floor.floor(stage, base_p50, self.hops.get(stage, []), self.commit_ms, poll_ms)

    def floor_ratio(self, stage: str, base: str = "monolith") -> float | None:
        found = self.floor(stage, base)
        return None if found is None else found.total / percentile(self.results[base][ORDERS], 50)


SPANS_WRITTEN = 1.5  # seconds: every process has written its last batch of spans (200 ms)


ROUNDS = 4  # each stage is measured in turn this many times, a share of the requests each


def run_stages(
    stages: list[str], requests: int, concurrency: int, rounds: int = ROUNDS
) -> StageRun:
    """Start every stage at once and measure them in turn, `rounds` times in a rotating
    order, with the same client: each stage meets the machine's load as the others do
    (measured one after the other, a change of load between stages moved the order
    ratio from 2x to 7x between two runs). Then read back the split stages' hops from
    the spans they wrote."""
    run = StageRun({}, {}, commit_ms=order_floor.commit_cost())
    measured: dict[str, list[Measured]] = {stage: [] for stage in stages}
    with ExitStack() as started:
        running, traces = {}, {}
        for stage in stages:
            work = Path(tempfile.mkdtemp(prefix=f"threefold-{stage}-"))
            options = StageOptions(port=0, data_dir=work)
            print(f"==> {stage}: starting (logs in {work})", flush=True)
            sink = FileSink(work / "stage.log")
            running[stage] = started.enter_context(running_stage(stage, options, sink=sink))
            traces[stage] = work / TRACES
        for round_ in range(rounds):
            turn = stages[round_ % len(stages) :] + stages[: round_ % len(stages)]
            print(f"==> round {round_ + 1} of {rounds}: {', '.join(turn)}", flush=True)
            for stage in turn:
                share = measure(running[stage].url, requests // rounds, concurrency)
                measured[stage].append(share)
        time.sleep(SPANS_WRITTEN)
        for stage in stages:
            shares = measured[stage]
            run.results[stage] = {
                endpoint: [ms for share in shares for ms in share.latencies[endpoint]]
                for endpoint in shares[0].latencies
            }
            if polls := [ms for share in shares for ms in share.polls]:
                run.polls[stage] = polls
            brokers = [p for p in running[stage].plan.processes if p.name == "broker"]
            if brokers:
                run.broker_stats[stage] = httpx.get(brokers[0].url + "/stats").json()
            if stage != "monolith":
                orders = [order for share in shares for order in share.orders]
                spans = read_spans(traces[stage])
                run.hops[stage] = order_floor.hops_per_order(stage, spans, orders)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=list(STAGES))
    parser.add_argument("--requests", type=int, default=800, help="GETs per stage (orders: 1/4)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)

    run = run_stages(args.stages, args.requests, args.concurrency)
    results, broker_stats = run.results, run.broker_stats

    print(f"\nlatency in ms, {args.concurrency} concurrent clients, same client for every stage")
    base = args.stages[0]
    print(f"{'endpoint':<26}{'stage':<15}{'n':>5}{'p50':>9}{'p95':>9}{'p50 ratio':>11}")
    for endpoint in results[base]:
        for stage in args.stages:
            values = results[stage][endpoint]
            p50, p95 = percentile(values, 50), percentile(values, 95)
            ratio = p50 / percentile(results[base][endpoint], 50)
            print(f"{endpoint:<26}{stage:<15}{len(values):>5}{p50:>9.1f}{p95:>9.1f}{ratio:>10.2f}x")
    print("(POST /api/orders is timed until the order is final: the order completion time)")
    for stage in args.stages:
        if (found := run.floor(stage)) is not None:
            ratio = found.total / percentile(results["monolith"][ORDERS], 50)
            print(f"{stage}: order floor {ratio:.2f}x the monolith: {found.describe()}")
    for stage, stats in broker_stats.items():
        lag = stats["lag_ms"]
        print(
            f"{stage}: broker delivery lag (ingest to the subscriber's 2xx, handler included) "
            f"over {lag['count']} deliveries: p50 {lag['p50']} ms, p95 {lag['p95']} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
