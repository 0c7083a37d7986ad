"""Latency p50 / p95 of GET /api/products/{sku} and POST /api/orders, stage by stage.

The same client (httpx, a few concurrent threads, the same request mix) is
pointed at each stage in turn, in one run, so the ratios between stages mean
something even on a busy machine.

    .venv/bin/python -m benchmarks.stage_latency --stages monolith microservices
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from stages.definitions import STAGES, StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

FINAL = {"confirmed", "rejected"}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(url: str, requests: int, concurrency: int) -> dict[str, list[float]]:
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
                    time.sleep(0.01)
                    answer = client.get(f"/api/orders/{answer['id']}").raise_for_status().json()

            return _timed(place)

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(get, range(20)))  # warm-up
            gets = list(pool.map(get, range(requests)))
            orders = list(pool.map(order, range(requests // 4)))
    return {"GET /api/products/{sku}": gets, "POST /api/orders": orders}


@dataclass
class StageRun:
    """What one run of the stages measured: latencies per stage and endpoint, broker stats."""

    results: dict[str, dict[str, list[float]]]
    broker_stats: dict[str, dict]

    def p50_ratio(self, stage: str, endpoint: str, base: str = "monolith") -> float:
        return percentile(self.results[stage][endpoint], 50) / percentile(
            self.results[base][endpoint], 50
        )


def run_stages(stages: list[str], requests: int, concurrency: int) -> StageRun:
    """Start each stage in turn and measure it with the same client."""
    results: dict[str, dict[str, list[float]]] = {}
    broker_stats: dict[str, dict] = {}
    for stage in stages:
        work = Path(tempfile.mkdtemp(prefix=f"threefold-{stage}-"))
        options = StageOptions(port=0, data_dir=work)
        print(f"==> {stage}: starting (logs in {work})", flush=True)
        with running_stage(stage, options, sink=FileSink(work / "stage.log")) as running:
            print(f"==> {stage}: measuring", flush=True)
            results[stage] = measure(running.url, requests, concurrency)
            brokers = [p for p in running.plan.processes if p.name == "broker"]
            if brokers:
                broker_stats[stage] = httpx.get(brokers[0].url + "/stats").json()
    return StageRun(results, broker_stats)


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
    for stage, stats in broker_stats.items():
        lag = stats["lag_ms"]
        print(
            f"{stage}: broker delivery lag (ingest to the subscriber's 2xx, handler included) "
            f"over {lag['count']} deliveries: p50 {lag['p50']} ms, p95 {lag['p95']} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
