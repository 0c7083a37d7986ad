"""One trace drawn as a waterfall in the terminal: a row per span, indented under its
parent, with the process that recorded it and a bar on a shared time axis.

    ms from start       0 ........................ 84.2
    POST /api/orders            gateway     0.0  84.2 |##########################|
      POST                      gateway     0.4  83.1 | #########################|
"""

from __future__ import annotations

from shop.telemetry.trace_files import Span, depth_first, orphans

# Attributes that say what a span did, shown after its name when it carries them: an HTTP
# status, a CloudEvent's type, a delivery's outcome, a saga step's result.
SHOWN_ATTRIBUTES = (
    "http.response.status_code",
    "http.status_code",
    "cloudevents.event_type",
    "broker.outcome",
    "shop.reservation.status",
    "shop.payment.outcome",
    "shop.order.status",
    "shop.order.reason",
)


def label(span: Span) -> str:
    """The span's name, then what it did: "POST /api/orders [202]"."""
    shown: list[str] = []
    for key in SHOWN_ATTRIBUTES:
        value = str(span.attributes.get(key, ""))
        if value and value not in span.name and value not in shown:  # said once
            shown.append(value)
    return span.name + (f" [{', '.join(shown)}]" if shown else "")


def unexplained_orphans(trace: list[Span]) -> list[Span]:
    """The orphans but the trace's first span: a caller that sends a sampled `traceparent`
    without recording spans (the load tests' representative order) is its parent."""
    first = min(trace, key=lambda s: s.start_ns, default=None)
    return [s for s in orphans(trace) if s is not first]


def waterfall(trace: list[Span], width: int = 40) -> str:
    """The text of the waterfall of `trace` (its spans, any order)."""
    if not trace:
        return "(no spans)"
    rows = depth_first(trace)
    start = min(s.start_ns for s in trace)
    total_ms = max((max(s.end_ns for s in trace) - start) / 1e6, 0.001)
    name_width = min(max(2 * d + len(label(s)) for d, s in rows), 56)
    service_width = max(len(s.service) for _, s in rows)
    header = (
        f"{'span':<{name_width}}  {'process':<{service_width}}  {'start':>8}  {'ms':>8}  "
        f"0{'':>{width - 1}}{total_ms:.1f} ms"
    )
    lines = [header]
    for depth, span in rows:
        offset_ms = (span.start_ns - start) / 1e6
        first = int(offset_ms / total_ms * width)
        length = max(1, round(span.duration_ms / total_ms * width))
        bar = " " * first + "#" * min(length, width - first)
        name = ("  " * depth + label(span))[:name_width]
        mark = " !" if span.error else ""
        lines.append(
            f"{name:<{name_width}}  {span.service:<{service_width}}  {offset_ms:8.1f}  "
            f"{span.duration_ms:8.1f}  |{bar:<{width}}|{mark}"
        )
    processes = sorted({s.service for s in trace})
    first = rows[0][1]
    called = f", called by span {first.parent_id} (not recorded)" if first.parent_id else ""
    lines.append(
        f"{len(trace)} spans, {len(processes)} process{'es' if len(processes) > 1 else ''} "
        f"({', '.join(processes)}), {total_ms:.1f} ms end to end"
        + (", ORPHAN SPANS" if unexplained_orphans(trace) else called)
    )
    return "\n".join(lines)
