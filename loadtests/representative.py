"""One representative order per stage, traced on purpose, kept beside the load run's results.

After a stage's load run, while it still runs and no load is on it, the runner
places one order for a product in stock, paid with the provider's test token
that succeeds. The POST carries a W3C `traceparent` made with OpenTelemetry's
propagator, flagged sampled: the stage follows a caller's sampled decision
(ParentBased sampling), so this order is traced whatever TRACE_SAMPLE_RATIO
the load ran with. Once the order is final, its spans are read back from the
stage's traces folder (each process's OTLP JSON lines, shop.telemetry.trace_files)
until they stop changing and every span's parent is there, and kept in
trace.json: the report draws it as a waterfall (loadtests.trace_section), also
when re-rendered from the files alone.

The caller's span is not recorded anywhere (the load test has no tracer provider):
the stage's edge span names it as parent, so it counts as the trace's root.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shop.telemetry.trace_files import Span, spans_of_line

FILE_NAME = "trace.json"
FINAL = {"confirmed", "rejected"}
SEEDED_SKUS = [f"TF-{n:04d}" for n in range(1, 61)]  # shop.seed's catalog
EMAIL = "representative-order@example.com"
ORDER_TIMEOUT = 30.0  # seconds the order may take to become final
SPANS_TIMEOUT = 15.0  # seconds its spans may take to reach the traces folder
SETTLED = 1.0  # seconds the spans must stay unchanged to count as all there
POLL = 0.1


@dataclass
class Representative:
    """One traced order on one stage, or why there is none (`reason`)."""

    stage: str
    tracing: str  # the tracing setting the stage ran with, as the report states it
    trace_id: str = ""
    caller_span_id: str = ""  # the parent the POST's traceparent named
    order_id: str | None = None
    outcome: str | None = None  # confirmed, or the rejection reason
    spans: list[Span] = field(default_factory=list)
    reason: str | None = None  # why there is no (complete) trace

    @property
    def end_to_end_ms(self) -> float:
        if not self.spans:
            return 0.0
        return (max(s.end_ns for s in self.spans) - min(s.start_ns for s in self.spans)) / 1e6

    @property
    def processes(self) -> list[str]:
        return sorted({s.service for s in self.spans})

    def missing_parents(self) -> list[Span]:
        """Spans whose parent is neither in the trace nor the caller (the caller's span is
        the root's parent and is recorded nowhere)."""
        ids = {s.span_id for s in self.spans} | {self.caller_span_id}
        return [s for s in self.spans if s.parent_id and s.parent_id not in ids]


def sampled_traceparent() -> tuple[dict[str, str], str, str]:
    """(headers, trace id, span id): a new sampled W3C trace context, as OpenTelemetry's
    propagator writes it, for a caller that records no span of its own."""
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    ids = RandomIdGenerator()
    context = trace.SpanContext(
        trace_id=ids.generate_trace_id(),
        span_id=ids.generate_span_id(),
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    headers: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(
        headers, context=trace.set_span_in_context(trace.NonRecordingSpan(context))
    )
    return headers, format(context.trace_id, "032x"), format(context.span_id, "016x")


def trace_spans(folder: Path, trace_id: str) -> list[Span]:
    """The spans of one trace in a traces folder (only the lines that name it are parsed;
    a line a process is still writing is skipped)."""
    found: list[Span] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if trace_id not in line:
                    continue
                try:
                    found.extend(s for s in spans_of_line(line) if s.trace_id == trace_id)
                except (ValueError, KeyError):
                    continue
    return sorted(found, key=lambda s: s.start_ns)


def _sku_in_stock(http: httpx.Client) -> str:
    """A seeded product with a unit left (the load run may have sold some out)."""
    for sku in SEEDED_SKUS:
        answer = http.get(f"/api/stock/{sku}")
        if answer.status_code == 200 and answer.json()["available"] > 0:
            return sku
    return SEEDED_SKUS[0]  # none left: the order is rejected, a valid trace all the same


def _final_order(http: httpx.Client, order: dict, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while order["status"] not in FINAL and time.monotonic() < deadline:
        time.sleep(POLL)
        order = http.get(f"/api/orders/{order['id']}").raise_for_status().json()
    return order


def _settled_spans(found: Representative, folder: Path, timeout: float) -> None:
    """Poll the folder until the trace's spans stop changing with no parent missing, or
    the time is up (then say what is missing)."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while True:
        found.spans = trace_spans(folder, found.trace_id)
        if len(found.spans) != seen:
            seen, since = len(found.spans), time.monotonic()
        complete = found.spans and not found.missing_parents()
        if complete and time.monotonic() - since >= SETTLED:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    if not found.spans:
        found.reason = (
            f"no span of trace {found.trace_id} reached {folder} within {timeout:g} s "
            "(is tracing off, TRACING=0, or does the stage not trace yet?)"
        )
    elif found.missing_parents():
        found.reason = (
            f"incomplete: {len(found.missing_parents())} span(s) name a parent that did not "
            f"reach {folder} within {timeout:g} s"
        )


def place(
    url: str,
    stage: str,
    traces: Path | None,
    tracing: str,
    order_timeout: float = ORDER_TIMEOUT,
    spans_timeout: float = SPANS_TIMEOUT,
) -> Representative:
    """Place the representative order on the stage at `url`, wait for it to be final, then
    for its spans in `traces` (None: the stage's spans are not on this machine)."""
    headers, trace_id, caller = sampled_traceparent()
    found = Representative(stage, tracing, trace_id, caller)
    body = {"email": EMAIL, "payment_token": "tok_visa", "lines": []}
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            body["lines"] = [{"sku": _sku_in_stock(http), "quantity": 1}]
            answer = http.post("/api/orders", json=body, headers=headers)
            if answer.status_code != 202:
                found.reason = f"POST /api/orders answered {answer.status_code}"
                return found
            order = _final_order(http, answer.json(), order_timeout)
    except httpx.HTTPError as error:
        found.reason = f"the order could not be placed: {type(error).__name__}: {error}"
        return found
    found.order_id = order["id"]
    if order["status"] not in FINAL:
        found.reason = f"order {order['id']} still {order['status']} after {order_timeout:g} s"
        return found
    found.outcome = order.get("reason") or order["status"]
    if traces is None:
        found.reason = (
            "the stage's spans are not on this machine: a running stage sends them where it "
            f"exports them (on the cluster: the collector, then Jaeger, trace {trace_id})"
        )
        return found
    _settled_spans(found, traces, spans_timeout)
    return found


def write(found: Representative, folder: Path) -> Path:
    path = folder / FILE_NAME
    path.write_text(json.dumps(asdict(found), indent=1) + "\n", encoding="utf-8")
    return path


def read(folder: Path) -> Representative | None:
    """The representative order kept in a stage's folder, or None (a run without one)."""
    path = folder / FILE_NAME
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    data["spans"] = [Span(**span) for span in data.get("spans", [])]
    return Representative(**data)
