"""The report's waterfalls: each stage's representative order as one trace, on one time axis.

One SVG per stage, one under the other and drawn to the same scale (the
slowest stage's end-to-end time), so one transaction (monolith), an
orchestrated saga (microservices) and choreographed events (functions) can
be told apart at a glance: a row per span, indented under its parent (the
order of shop.telemetry.trace_files.depth_first), the process that recorded
it, and a bar coloured by process (within a stage). The spans come from each stage's
trace.json (loadtests.representative); a stage without one says why.
"""

from __future__ import annotations

from html import escape

from loadtests.charts import nice_ceiling
from loadtests.representative import Representative, read
from loadtests.results import StageResult
from shop.telemetry.trace_files import depth_first
from shop.telemetry.waterfall import label

WIDTH = 900
NAME_WIDTH, PROCESS_WIDTH, RIGHT = 330, 110, 12  # the columns left of the bars, in px
ROW, TOP, BOTTOM = 17, 22, 8
PROCESS_COLORS = [
    "#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
    "#666666", "#17becf", "#bcbd22", "#8c564b",
]  # fmt: skip
STYLE = """
.waterfall text{font-size:11px;fill:#333}.waterfall .process{fill:#666}
.waterfall .tick{fill:#666}.waterfall .grid{stroke:#eee}.waterfall rect.error{stroke:#b00020;
stroke-width:1.5}.processes span{margin-right:10px;font-size:12px;white-space:nowrap}
"""


def traces(results: list[StageResult]) -> list[tuple[str, Representative | None]]:
    return [(r.stage, read(r.folder)) for r in results]


def _colors(rep: Representative) -> dict[str, str]:
    """A colour per process of this stage's trace, none used twice within it."""
    return {name: PROCESS_COLORS[i % len(PROCESS_COLORS)] for i, name in enumerate(rep.processes)}


def summary(rep: Representative) -> str:
    """ "14 spans in 6 processes (...), 84.2 ms end to end" or why there is no trace."""
    if not rep.spans:
        return f"no trace: {rep.reason or 'no span was found'}"
    processes = rep.processes
    text = (
        f"{len(rep.spans)} spans in {len(processes)} process{'es' if len(processes) > 1 else ''} "
        f"({', '.join(processes)}), {rep.end_to_end_ms:.1f} ms end to end"
    )
    return text + (f"; {rep.reason}" if rep.reason else "")


def _fitted(text: str, width: float) -> str:
    """`text` cut to about `width` px of 11 px type (the whole label is in the row's tooltip)."""
    chars = max(8, int(width / 6.2))
    return text if len(text) <= chars else text[: chars - 1] + "\u2026"


def _svg(rep: Representative, colors: dict[str, str], scale_ms: float) -> str:
    rows = depth_first(rep.spans)
    start = min(s.start_ns for s in rep.spans)
    plot = WIDTH - NAME_WIDTH - PROCESS_WIDTH - RIGHT
    left = NAME_WIDTH + PROCESS_WIDTH
    height = TOP + ROW * len(rows) + BOTTOM
    # A deep trace (the functions' chain of events) indents less, so its names still fit.
    indent = min(12.0, (NAME_WIDTH - 160) / max(max(d for d, _ in rows), 1))
    parts = []
    for n in range(6):  # the time axis: 0 .. scale in five steps
        x = left + plot * n / 5
        anchor = "end" if n == 5 else "middle"
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{height - BOTTOM}"/>'
            f'<text class="tick" x="{x:.1f}" y="{TOP - 8}" text-anchor="{anchor}">'
            f"{scale_ms * n / 5:g}{' ms' if n == 5 else ''}</text>"
        )
    for index, (depth, span) in enumerate(rows):
        y = TOP + ROW * index
        offset = (span.start_ns - start) / 1e6
        x = left + plot * offset / scale_ms
        width = max(1.5, plot * span.duration_ms / scale_ms)
        tip = (
            f"{label(span)} ({span.service}, {span.kind}): starts at {offset:.1f} ms, "
            f"lasts {span.duration_ms:.1f} ms"
            + "".join(f"\n{k} = {v}" for k, v in sorted(span.attributes.items()))
        )
        error = ' class="error"' if span.error else ""
        parts.append(
            f'<g class="span" data-depth="{depth}" data-process="{escape(span.service)}">'
            f"<title>{escape(tip)}</title>"
            f'<text x="{4 + indent * depth:.1f}" y="{y + 12}">'
            f"{escape(_fitted(label(span), NAME_WIDTH - 10 - indent * depth))}</text>"
            f'<text class="process" x="{NAME_WIDTH}" y="{y + 12}">{escape(span.service)}</text>'
            f'<rect{error} x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" '
            f'rx="2" fill="{colors[span.service]}"/></g>'
        )
    return (
        f'<svg class="waterfall" data-stage="{escape(rep.stage)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="waterfall of the representative order on {escape(rep.stage)}">'
        f"{''.join(parts)}</svg>"
    )


def html(results: list[StageResult]) -> str:
    """The page's section: the stages' waterfalls one under the other, on one scale."""
    found = traces(results)
    if not any(rep is not None for _, rep in found):
        return ""  # a run from before representative orders: no section
    scale = nice_ceiling(max((rep.end_to_end_ms for _, rep in found if rep), default=1.0))
    blocks = []
    for stage, rep in found:
        if rep is None:
            blocks.append(
                f'<h3>{escape(stage)}</h3><p class="note" data-stage="{escape(stage)}">'
                "no trace: this stage's run placed no representative order (it did not run "
                "to the end)</p>"
            )
            continue
        order = f"order {rep.order_id}, {rep.outcome}" if rep.order_id else "no order"
        head = (
            f'<h3>{escape(stage)}</h3><p class="note trace-summary" data-stage="{escape(stage)}" '
            f'data-spans="{len(rep.spans)}">{escape(order)}: {escape(summary(rep))}'
            + (f"; trace <code>{escape(rep.trace_id)}</code>" if rep.spans else "")
            + "</p>"
        )
        if not rep.spans:
            blocks.append(head)
            continue
        colors = _colors(rep)
        legend = "".join(
            f'<span><span class="swatch" style="background:{colors[p]}"></span>{escape(p)}</span>'
            for p in rep.processes
        )
        blocks.append(f'{head}<div class="processes">{legend}</div>{_svg(rep, colors, scale)}')
    setting = next((rep.tracing for _, rep in found if rep), "?")
    return (
        f'<section class="panel" id="traces"><h2>One order, traced, on each stage</h2>'
        f'<p class="note">After its load run, each stage got one more order, placed with a '
        f"sampled <code>traceparent</code> so that it is traced whatever the sample ratio "
        f"(under load the stages ran with {escape(setting.split(' (')[0])}). Its spans, read "
        "from the files its processes wrote, are drawn on one time axis "
        f"(0 to {scale:g} ms for every stage): a row per span under its parent, the process "
        "that recorded it, bars coloured by process. The monolith does "
        "the order in one transaction; the microservices' orders service orchestrates a saga "
        "over HTTP; the functions react to events through the broker.</p>"
        f"{''.join(blocks)}</section>"
    )


def terminal(results: list[StageResult]) -> list[str]:
    """One line per stage: its representative order's span count and processes."""
    found = traces(results)
    if not any(rep is not None for _, rep in found):
        return []
    lines = ["Representative order traces:"]
    for stage, rep in found:
        text = summary(rep) if rep else "no trace: no representative order in this run"
        lines.append(f"  {stage}: {text}")
    return lines
