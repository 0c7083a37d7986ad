"""`python -m stages trace STAGE [--order ID]`: one order's trace as a waterfall.

Reads the OTLP JSON files the stage's processes wrote into data/<stage>/traces
(the launcher sets TRACES_DIR there) while it ran with `make run-*` or the demo.
Without --order: the order placed most recently. Processes write their spans in
batches (every 200 ms with the launcher's settings), and an order's saga goes on after
the answer to its POST: a waterfall drawn while spans are still being written says so.
"""

from __future__ import annotations

import time
from pathlib import Path

from shop.telemetry.trace_files import latest_order, order_traces, read_spans
from shop.telemetry.waterfall import unexplained_orphans, waterfall
from stages.definitions import DATA, TRACES

# An order whose last span ended this recently, while spans files are still being written:
# the stage is running and may not be done with the order.
RECENT_SECONDS = 5.0


def last_written(folder: Path) -> float | None:
    """Seconds since a process last wrote a spans file in `folder` (None: no file)."""
    times = [path.stat().st_mtime for path in folder.glob("*.jsonl")]
    return time.time() - max(times) if times else None


def traces_dir(stage: str, data_dir: Path | None = None) -> Path:
    return (data_dir or DATA / stage) / TRACES


def show(stage: str, order: str | None = None, data_dir: Path | None = None) -> tuple[int, str]:
    """(exit code, text): the order's waterfall(s), or why there is none."""
    folder = traces_dir(stage, data_dir)
    spans = read_spans(folder) if folder.is_dir() else []
    if not spans:
        return 1, (
            f"no spans in {folder}/: run the stage first (make run-{stage}) and place an "
            "order (the storefront, or make demo-orders for the monolith); TRACING=0 turns "
            "spans off"
        )
    order = order or latest_order(spans)
    if order is None:
        return 1, f"no order's spans in {folder}/ (spans carry shop.order.id once placed)"
    traces = order_traces(spans, order)
    if not traces:
        return 1, f"no spans of order {order} in {folder}/ (a typo, or another stage's order?)"
    parts = [f"order {order} on {stage}: {len(traces)} trace(s)"]
    for trace in traces:
        parts += ["", f"trace {trace[0].trace_id}", waterfall(trace)]
        if missing := unexplained_orphans(trace):
            parts.append(f"{len(missing)} span(s) name a parent that is not in the files")
    age = last_written(folder)
    since_last_span = time.time() - max(s.end_ns for t in traces for s in t) / 1e9
    if age is not None and age < RECENT_SECONDS and since_last_span < RECENT_SECONDS:
        parts += [
            "",
            f"note: the stage wrote spans {age:.1f} s ago: it is running, and the order's "
            f"saga may not be over; run make trace STAGE={stage} ORDER={order} again for the rest",
        ]
    return 0, "\n".join(parts)
