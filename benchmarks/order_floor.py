"""The floor of a split stage's order completion time: what its hops and commits cost.

A split stage does an order's work as the monolith does, plus what splitting it adds:
hops between processes and more transactions. Its floor, measured in the same run, is

    the monolith's p50
    + the hops on the order's critical path, each as long as it took (from the traces)
    + the extra commits x a commit's cost (measured here)
    + on functions, the wait for the client's next poll (half its interval) and that GET

so a p50 well above the floor is overhead inside the processes, and one near it is
the architecture's price on this machine at the test's load.

A hop is the time the order spends between two processes, read from the spans the
stage wrote while the benchmark ran (TRACES_DIR):
- a call (microservices, and the functions' gateway and catalog calls): the caller's
  client span minus the callee's server span (the wire, both HTTP stacks, the wait
  for the callee to be scheduled), the request's half only where the answer is not
  on the path;
- an event: from the moment the step before let go of it (a publish started, a
  function answered) to the next function's server span (the answer back to the
  broker, its ingest and dispatch, the POST).
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from shop.persistence.database import Database
from shop.telemetry.trace_files import Span, order_traces

# Write transactions an order of tok_visa (confirmed) commits until it is final, by stage;
# the monolith's order is one ("order transaction", monolith/order_saga.py).
WRITE_TRANSACTIONS = {
    "monolith": 1,
    # orders: insert; inventory: reserve; payments: open, record (payments/app.py charge);
    # inventory: commit; orders: confirm; notifications: record; orders: mark notified.
    "microservices": 8,
    # place-order: insert; reserve-stock: one with its inbox; charge-payment: inbox check,
    # open, record, inbox (functions/charge_payment/func.py); finalize-order: one.
    "functions": 7,
}
# The events a functions order passes through until finalize-order makes it final.
CRITICAL_EVENTS = ("shop.order.placed", "shop.stock.reserved", "shop.payment.")
FINAL_STEPS = ("confirm order", "reject order")


def _children(trace: list[Span]) -> dict[str, list[Span]]:
    found: dict[str, list[Span]] = {}
    for span in trace:
        found.setdefault(span.parent_id, []).append(span)
    return found


def _called(span: Span, children: dict[str, list[Span]]) -> Span | None:
    """The server span a client span caused in another process, if any."""
    for child in children.get(span.span_id, []):
        if child.kind == "server" and child.service != span.service:
            return child
    return None


def call_hops(trace: list[Span]) -> list[float]:
    """Milliseconds of every call between processes in `trace`: client span - server span."""
    children = _children(trace)
    hops = []
    for span in trace:
        if span.kind == "client" and (called := _called(span, children)) is not None:
            hops.append(span.duration_ms - called.duration_ms)
    return hops


def event_hops(trace: list[Span]) -> list[float]:
    """Milliseconds of the functions order's path until final, hop by hop (see the module):
    the gateway's request to place-order, the catalog call, then each event to the
    function that takes it. Empty if the trace lacks a step (spans still unwritten)."""
    children = _children(trace)
    by_name = {s.name: s for s in trace}
    place = next((s for s in trace if s.service == "place-order" and s.kind == "server"), None)
    forward = next((s for s in trace if _called(s, children) is place), None) if place else None
    processes = sorted(
        (s for s in trace if s.kind == "server" and s.name.startswith("process ")),
        key=lambda s: s.start_ns,
    )
    path = [
        next((p for p in processes if p.name.removeprefix("process ").startswith(t)), None)
        for t in CRITICAL_EVENTS
    ]
    calls = [(s, _called(s, children)) for s in trace if s.service == "place-order"]
    pricing = next((c for c, s in calls if s is not None and s.service == "catalog-read"), None)
    publish = next((c for c, s in calls if s is not None and s.service == "broker"), None)
    if None in (place, forward, pricing, publish, *path) or not any(
        n in by_name for n in FINAL_STEPS
    ):
        return []
    hops = [
        (place.start_ns - forward.start_ns) / 1e6,  # the answer goes back off the path
        pricing.duration_ms - _called(pricing, children).duration_ms,
        (path[0].start_ns - publish.start_ns) / 1e6,
    ]
    hops += [(after.start_ns - before.end_ns) / 1e6 for before, after in itertools.pairwise(path)]
    return hops


@dataclass
class Floor:
    """A split stage's floor and what it is made of (milliseconds)."""

    monolith_p50: float
    hops: int
    hop_ms: float  # the median order's hops, summed
    extra_commits: int
    commit_ms: float
    poll_ms: float  # the wait for the next poll and its GET (functions)

    @property
    def total(self) -> float:
        hops_and_commits = self.hop_ms + self.extra_commits * self.commit_ms
        return self.monolith_p50 + hops_and_commits + self.poll_ms

    def describe(self) -> str:
        return (
            f"{self.total:.1f} ms = monolith p50 {self.monolith_p50:.1f} + {self.hops} hops "
            f"{self.hop_ms:.1f} (median {self.hop_ms / max(self.hops, 1):.1f} each) + "
            f"{self.extra_commits} commits x {self.commit_ms:.2f}"
            + (f" + next poll {self.poll_ms:.1f}" if self.poll_ms else "")
        )


def hops_per_order(stage: str, spans: list[Span], orders: list[str]) -> list[list[float]]:
    """Each traced order's hops on its critical path (orders whose spans are incomplete
    are left out)."""
    found = []
    for order in orders:
        traces = order_traces(spans, order)
        if not traces:
            continue
        hops = call_hops(traces[0]) if stage == "microservices" else event_hops(traces[0])
        if hops:
            found.append(hops)
    return found


def floor(
    stage: str,
    monolith_p50: float,
    per_order: list[list[float]],
    commit_ms: float,
    poll_ms: float = 0.0,
) -> Floor | None:
    if not per_order:
        return None
    sums = [sum(hops) for hops in per_order]
    extra = WRITE_TRANSACTIONS[stage] - WRITE_TRANSACTIONS["monolith"]
    hop_count = statistics.median(len(hops) for hops in per_order)
    return Floor(monolith_p50, int(hop_count), statistics.median(sums), extra, commit_ms, poll_ms)


def commit_cost(transactions: int = 200) -> float:
    """Median milliseconds of one small write transaction (BEGIN IMMEDIATE, an insert,
    COMMIT) on a SQLite file with the stages' settings (shop.persistence.database)."""
    with tempfile.TemporaryDirectory(prefix="threefold-commit-") as work:
        database = Database(f"sqlite:///{Path(work) / 'commits.sqlite'}")
        try:
            with database.writing() as session:
                session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            times = []
            for i in range(transactions):
                started = time.perf_counter()
                with database.writing() as session:
                    session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"row {i}"})
                times.append((time.perf_counter() - started) * 1000)
        finally:
            database.dispose()
    return statistics.median(times)
