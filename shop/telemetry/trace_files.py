"""Read spans back from OTLP JSON lines files, and put one trace together.

The files are what the SDK's file exporter writes (one ExportTraceServiceRequest
per line, OpenTelemetry's OTLP/JSON encoding: hex ids, nanosecond times as
strings, attributes as typed values). A stage's processes each write their own
file into one folder (TRACES_DIR), so one order's spans are spread over several.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shop.telemetry.tracing import ORDER_ID

SPAN_KINDS = dict(
    enumerate(("unspecified", "internal", "server", "client", "producer", "consumer"))
)


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    service: str  # the process that recorded it (its resource's service.name)
    kind: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    error: bool = False

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def order_id(self) -> str | None:
        return self.attributes.get(ORDER_ID)


def _value(typed: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a Python value (arrays and maps flattened to their JSON)."""
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in typed:
            return typed[key]
    if "intValue" in typed:
        return int(typed["intValue"])
    return json.dumps(typed, sort_keys=True)


def _attributes(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items}


def spans_of_line(line: str) -> Iterator[Span]:
    """The spans of one exported batch (one line of a file)."""
    for resource_spans in json.loads(line).get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        service = str(resource.get("service.name", "unknown"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for raw in scope_spans.get("spans", []):
                yield Span(
                    trace_id=raw["traceId"],
                    span_id=raw["spanId"],
                    parent_id=raw.get("parentSpanId", ""),
                    name=raw["name"],
                    service=service,
                    kind=SPAN_KINDS.get(raw.get("kind", 0), "unspecified"),
                    start_ns=int(raw["startTimeUnixNano"]),
                    end_ns=int(raw["endTimeUnixNano"]),
                    attributes=_attributes(raw.get("attributes", [])),
                    error=raw.get("status", {}).get("code") == 2,
                )


def read_spans(folder: Path) -> list[Span]:
    """Every span in the folder's *.jsonl files; a line cut short (a process still
    writing it) is skipped."""
    spans: list[Span] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    spans.extend(spans_of_line(line))
                except (ValueError, KeyError):
                    continue
    return spans


def by_trace(spans: Iterable[Span]) -> dict[str, list[Span]]:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return dict(traces)


def order_traces(spans: Iterable[Span], order_id: str) -> list[list[Span]]:
    """The traces that carry spans of this order (one, unless it was re-driven), each
    sorted by start time, the one that began first first."""
    traces = by_trace(spans)
    found = [
        sorted(trace, key=lambda s: s.start_ns)
        for trace in traces.values()
        if any(s.order_id == order_id for s in trace)
    ]
    return sorted(found, key=lambda t: t[0].start_ns)


def latest_order(spans: Iterable[Span]) -> str | None:
    """The id of the order whose first span started last (the one placed most recently)."""
    first: dict[str, int] = {}
    for span in spans:
        if span.order_id:
            first[span.order_id] = min(first.get(span.order_id, span.start_ns), span.start_ns)
    return max(first, key=first.__getitem__) if first else None


def orphans(trace: list[Span]) -> list[Span]:
    """Spans whose parent is not in the trace (a root has no parent and is no orphan)."""
    ids = {s.span_id for s in trace}
    return [s for s in trace if s.parent_id and s.parent_id not in ids]


def roots(trace: list[Span]) -> list[Span]:
    return [s for s in trace if not s.parent_id]


def depth_first(trace: list[Span]) -> list[tuple[int, Span]]:
    """(depth, span) in causal order: each span after its parent, siblings by start time.
    An orphan is drawn as a root, so nothing is hidden."""
    ids = {s.span_id for s in trace}
    children: dict[str, list[Span]] = defaultdict(list)
    tops: list[Span] = []
    for span in sorted(trace, key=lambda s: s.start_ns):
        if span.parent_id and span.parent_id in ids:
            children[span.parent_id].append(span)
        else:
            tops.append(span)
    ordered: list[tuple[int, Span]] = []

    def visit(span: Span, depth: int) -> None:
        ordered.append((depth, span))
        for child in children[span.span_id]:
            visit(child, depth + 1)

    for top in tops:
        visit(top, 0)
    return ordered
