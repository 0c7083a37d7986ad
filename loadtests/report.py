"""The comparison report: one self-contained HTML page, and the same table for the terminal.

Every number comes from Locust's own CSV files, read by loadtests.results:
the table from locust_stats.csv (the Aggregated row and the "order
completion" row), the charts from locust_stats_history.csv, the outcomes
from locust_orders.csv, the replicas from replicas.csv and the CPU and memory
of each process from resources.csv (loadtests.resource_section), each stage's representative
order's trace from trace.json (loadtests.trace_section), and the projection to a
cluster from those and the k8s/ manifests (loadtests.projection_section). The page holds
its CSS, its SVG charts and its small script inline, so it opens without a
network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from loadtests import (
    capacity_section,
    projection_section,
    resource_section,
    resource_use,
    summary,
    text_table,
    trace_section,
)
from loadtests.charts import LEFT, PALETTE, RIGHT, WIDTH, line_chart
from loadtests.results import AGGREGATED, ORDER_COMPLETION, Series, StageResult
from loadtests.traffic_mix import entries_per_task
from loadtests.verdict import judge, offered_rate

REPORT_NAME = "report.html"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    read: Callable[[StageResult], float | None]
    digits: int = 0


def _agg(field: str) -> Callable[[StageResult], float | None]:
    return lambda r: getattr(r.aggregated, field) if r.aggregated else None


def _order(field: str) -> Callable[[StageResult], float | None]:
    return lambda r: getattr(r.orders, field) if r.orders else None


def _outcome(*names: str) -> Callable[[StageResult], float | None]:
    return lambda r: sum(r.order_outcomes.get(n, 0) for n in names) if r.orders else None


def _failure_share(r: StageResult) -> float | None:
    a = r.aggregated
    return 100.0 * a.failures / a.requests if a and a.requests else None


def _peak_replicas(r: StageResult) -> float | None:
    series = r.replica_series()
    return max(series.values(), default=0.0) if series else None


METRICS = [
    Metric("requests", "requests", _agg("requests")),
    Metric("rps", "requests/s", _agg("rps"), 1),
    Metric("failures", "failures", _agg("failures")),
    Metric("failure_pct", "failures %", _failure_share, 2),
    Metric("p50", "latency p50 ms", _agg("p50")),
    Metric("p95", "latency p95 ms", _agg("p95")),
    Metric("p99", "latency p99 ms", _agg("p99")),
    Metric("orders", "orders", _order("requests")),
    Metric("order_p50", "order completion p50 ms", _order("p50")),
    Metric("order_p95", "order completion p95 ms", _order("p95")),
    Metric("order_p99", "order completion p99 ms", _order("p99")),
    Metric("confirmed", "  confirmed", _outcome("confirmed")),
    Metric("out_of_stock", "  out of stock", _outcome("out_of_stock")),
    Metric("declined", "  payment declined", _outcome("payment_declined")),
    Metric("payment_failed", "  payment failed", _outcome("payment_failed")),
    Metric("order_failures", "  not final (failed)", _order("failures")),
]
CLUSTER_METRICS = [
    Metric("peak_replicas", "peak ready replicas", _peak_replicas),
    Metric("core_seconds", "core-seconds", lambda r: r.core_seconds(), 1),
]


def metrics_for(results: list[StageResult]) -> list[Metric]:
    """The table's rows: the cluster rows only when some stage ran on Kubernetes."""
    on_cluster = any(r.replica_samples for r in results)
    return METRICS + (CLUSTER_METRICS if on_cluster else [])


def formatted(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def terminal_table(results: list[StageResult]) -> str:
    """The side-by-side table as plain text, one column per stage."""
    rows = [["metric", *(r.stage for r in results)]]
    rows.append(["status", *(judge(r).status for r in results)])
    rows += [
        [m.label, *(formatted(m.read(r), m.digits) for r in results)] for m in metrics_for(results)
    ]
    lines = text_table.aligned(rows)
    lines += ["", "What this run shows:"]
    lines += [f"  {'!! ' if line.level else ''}{line.text}" for line in summary.lines(results)]
    lines += ["", *resource_section.terminal(results)]
    if capacity := capacity_section.terminal(results):
        lines += ["", *capacity]
    if traced := trace_section.terminal(results):
        lines += ["", *traced]
    lines += ["", *projection_section.terminal(results)]
    lines += [f"{r.stage}: {r.run['error']}" for r in results if r.run.get("error")]
    return "\n".join(lines)


# --- the page ------------------------------------------------------------------------------


def _offered_requests(results: list[StageResult]) -> tuple[Series | None, float]:
    """The offered load in requests/s (users x rate x entries per task) and its rate, from
    the first stage that ran to the end with fixed pacing; None when users think freely."""
    per_task = entries_per_task()
    for r in results:
        offered = offered_rate(r)
        if offered and not judge(r).is_broken:
            points = [(t, None if v is None else v * per_task) for t, v in offered.points]
            return Series(points), float(r.run["rate"])
    return None, 0.0


def _charts(results: list[StageResult], colors: dict[str, str]) -> tuple[list[str], dict]:
    """The charts' SVG and, for the hover read-out, their data."""
    broken = frozenset(r.stage for r in results if judge(r).is_broken)
    offered, rate = _offered_requests(results)
    x_max = max(
        (p[0] for r in results for s in r.history.values() for c in s.values() for p in c.points),
        default=1.0,
    )
    wanted: list[tuple[str, str, Callable[[StageResult], Series | None], bool]] = [
        ("rps", "Requests per second", lambda r: r.history.get(AGGREGATED, {}).get("rps"), False),
        ("p50", "Latency p50 (ms)", lambda r: r.history.get(AGGREGATED, {}).get("50%"), False),
        ("p95", "Latency p95 (ms)", lambda r: r.history.get(AGGREGATED, {}).get("95%"), False),
        ("p99", "Latency p99 (ms)", lambda r: r.history.get(AGGREGATED, {}).get("99%"), False),
        ("fps", "Failures per second", lambda r: r.history.get(AGGREGATED, {}).get("fps"), False),
        (
            "order_p95",
            "Order completion p95 (ms)",
            lambda r: r.history.get(ORDER_COMPLETION, {}).get("95%"),
            False,
        ),
        ("users", "Users", lambda r: r.history.get(AGGREGATED, {}).get("users"), True),
        (
            "replicas",
            "Ready replicas (Deployments and Revisions)",
            StageResult.replica_series,
            True,
        ),
        ("cpu", "CPU of the stage's processes (cores)", resource_use.cpu_series, False),
        (
            "memory",
            "Resident memory of the stage's processes (MiB)",
            resource_use.memory_series,
            False,
        ),
    ]
    svgs, data = [], {}
    for chart_id, title, pick, step in wanted:
        series = {r.stage: s for r in results if (s := pick(r)) is not None and s.points}
        if not series:
            continue
        reference = offered if chart_id == "rps" else None
        chart = line_chart(
            f"chart-{chart_id}", title, series, colors, x_max, step, reference, broken
        )
        note = (
            f'<p class="note">Dashed grey: the offered load, users x {rate:g} '
            f"tasks/s x {entries_per_task():g} requests per task (an order's status polls not "
            "counted). A stage below it did not keep up.</p>"
            if reference
            else ""
        )
        svgs.append(
            f'<section class="panel"><h2>{escape(title)}</h2>{note}<div class="readout"></div>'
            f"{chart}</section>"
        )
        data[f"chart-{chart_id}"] = {st: s.points for st, s in series.items()}
    return svgs, data


def _column(r: StageResult) -> str:
    return ' class="broken"' if judge(r).is_broken else ""


def _summary_table(results: list[StageResult]) -> str:
    head = "".join(
        f'<th scope="col"{_column(r)}>{escape(r.stage)}'
        + ('<br><span class="flag">BROKEN</span>' if judge(r).is_broken else "")
        + "</th>"
        for r in results
    )
    status = "".join(
        f'<td data-stage="{escape(r.stage)}" data-status="{judge(r).status}"{_column(r)}>'
        f"{judge(r).status}</td>"
        for r in results
    )
    body = [f"<tr><th scope='row'>status</th>{status}</tr>"]
    for m in metrics_for(results):
        cells = "".join(
            f'<td data-stage="{escape(r.stage)}" data-metric="{m.key}"{_column(r)}>'
            f"{formatted(m.read(r), m.digits)}</td>"
            for r in results
        )
        indent = ' class="sub"' if m.label.startswith(" ") else ""
        body.append(f"<tr><th scope='row'{indent}>{escape(m.label.strip())}</th>{cells}</tr>")
    return (
        f'<table id="summary"><thead><tr><th>metric</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _endpoint_table(results: list[StageResult]) -> str:
    keys = sorted({k for r in results for k in r.entries if k != AGGREGATED})
    head = (
        "".join(f'<th scope="col" colspan="3">{escape(r.stage)}</th>' for r in results)
        + "</tr><tr><th></th>"
        + "<th>requests</th><th>p50</th><th>p95</th>" * len(results)
    )
    rows = []
    for kind, name in keys:
        cells = []
        for r in results:
            e = r.entries.get((kind, name))
            for field in ("requests", "p50", "p95"):
                value = formatted(getattr(e, field), 0) if e else "-"
                cells.append(
                    f'<td data-stage="{escape(r.stage)}" data-field="{field}">{value}</td>'
                )
        rows.append(
            f'<tr data-entry="{escape(kind)} {escape(name)}"><th scope="row">'
            f"{escape(name)}</th>{''.join(cells)}</tr>"
        )
    return (
        f'<table id="endpoints"><thead><tr><th>entry</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _what_it_shows(results: list[StageResult]) -> str:
    """The opening section: the summary's sentences, broken and suspect ones marked."""
    items = "".join(
        f'<li class="{line.level or "finding"}" data-stage="{escape(line.stage)}">'
        f"{escape(line.text)}</li>"
        for line in summary.lines(results)
    )
    return f'<section id="what-it-shows"><h2>What this run shows</h2><ul>{items}</ul></section>'


def _not_measured(results: list[StageResult]) -> str:
    """Say which stages have no replica counts and core-seconds, rather than an empty panel."""
    local = [r.stage for r in results if not r.replica_samples]
    if not local:
        return ""
    which = "any stage" if len(local) == len(results) else ", ".join(local)
    return (
        f'<p class="note" id="not-measured"><b>Not measured in this run:</b> replicas and '
        f"core-seconds for {escape(which)}. These stages ran here as local processes, not on "
        "Kubernetes, so there were no replicas to count; give a namespace "
        "(<code>--namespace</code>) on a cluster to measure them.</p>"
    )


def _describe_run(results: list[StageResult]) -> str:
    run = next((r.run for r in results if r.run), {})
    pacing = run.get("pacing", "?")
    if pacing == "fixed":
        pacing = f"fixed rate, {run.get('rate', '?')} tasks/s per user"
    started = run.get("started_at")
    when = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M UTC") if started else "?"
    host = (
        f" on {run['load_host']} ({run.get('load_host_cpus')} cores)" if "load_host" in run else ""
    )
    tracing = f"; tracing {escape(run['tracing'])}" if run.get("tracing") else ""
    return (
        f"shape <b>{escape(str(run.get('shape', '?')))}</b> ({escape(str(run.get('profile')))}"
        f" profile), {escape(pacing)}; started {when}{escape(host)}{tracing}"
    )


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;margin:8px 0 16px}
th,td{padding:3px 10px;border-bottom:1px solid #ddd}
td{text-align:right;font-variant-numeric:tabular-nums}th{text-align:left;font-weight:600}
th.sub{font-weight:400;padding-left:24px}#endpoints td,#endpoints th{font-size:12px}
.legend button{border:1px solid #bbb;background:#fff;border-radius:4px;margin-right:6px;
padding:2px 8px;cursor:pointer}.legend button[aria-pressed=false]{opacity:.35}
.swatch{display:inline-block;width:12px;height:3px;margin:0 6px 3px 0;vertical-align:middle}
svg.chart{display:block;max-width:100%;height:auto}
.grid{stroke:#eee}.tick,.axis{font-size:11px;fill:#666}
.series{fill:none;stroke-width:1.8}.series.hidden{display:none}.cursor{stroke:#999}
.readout{font-size:12px;color:#444;min-height:1.4em}.note{color:#555;font-size:13px}
.series.broken{stroke-dasharray:4 3;opacity:.45}.offered{fill:none;stroke:#777;
stroke-width:1.5;stroke-dasharray:6 4}td.broken,th.broken{color:#999;background:#f4f4f4}
.flag{color:#fff;background:#b00020;border-radius:3px;padding:0 5px;font-size:12px}
#what-it-shows ul{padding-left:20px}#what-it-shows li.broken{color:#b00020;font-weight:600}
#what-it-shows li.suspect{color:#8a5a00;font-weight:600}
h3{font-size:14px;margin:14px 0 2px}table.components td,table.components th{font-size:12px}
table.components td:first-child{text-align:left}p.meaning,p.outlook{margin:4px 0 12px}
"""

# The page's script: the legend toggles a stage in every chart, a pointer over a chart
# reads the values at that moment, and a self-check records on <body> how many charts
# have drawn lines (the browser test reads it) and any script error.
SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var buttons = document.querySelectorAll(".legend button");
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var shown = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(shown));
      var stage = button.dataset.stage;
      document.querySelectorAll(".series").forEach(function (line) {
        if (line.dataset.stage === stage) { line.classList.toggle("hidden", !shown); }
      });
    });
  });
  function nearest(points, x) {
    var best = null;
    points.forEach(function (p) {
      if (p[1] !== null && (best === null || Math.abs(p[0] - x) < Math.abs(best[0] - x))) {
        best = p;
      }
    });
    return best;
  }
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var series = data[svg.id] || {};
    var readout = svg.parentNode.querySelector(".readout");
    var cursor = svg.querySelector(".cursor");
    var xMax = parseFloat(svg.dataset.xMax);
    svg.addEventListener("mousemove", function (event) {
      var box = svg.getBoundingClientRect();
      var scale = box.width / %(width)d;
      var px = (event.clientX - box.left) / scale;
      var x = Math.max(0, Math.min(xMax, (px - %(left)d) / %(plot)d * xMax));
      cursor.setAttribute("x1", px); cursor.setAttribute("x2", px);
      cursor.setAttribute("visibility", "visible");
      var parts = ["t = " + x.toFixed(0) + " s"];
      Object.keys(series).forEach(function (stage) {
        var p = nearest(series[stage], x);
        if (p) { parts.push(stage + " " + (Math.round(p[1] * 10) / 10)); }
      });
      readout.textContent = parts.join("   ");
    });
    svg.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
    });
  });
  var drawn = 0;
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var lines = Array.prototype.slice.call(svg.querySelectorAll(".series"));
    if (lines.some(function (l) { var b = l.getBBox(); return b.width > 0 || b.height > 0; })) {
      drawn += 1;
    }
  });
  document.body.dataset.chartsDrawn = String(drawn);
})();
"""


def render(results: list[StageResult], title: str = "threefold: the stages compared") -> str:
    """The whole page as one string."""
    colors = {r.stage: PALETTE[i % len(PALETTE)] for i, r in enumerate(results)}
    svgs, data = _charts(results, colors)
    projection, projected_data = projection_section.html(results, colors)
    data.update(projected_data)
    legend = "".join(
        f'<button type="button" data-stage="{escape(r.stage)}" aria-pressed="true">'
        f'<span class="swatch" style="background:{colors[r.stage]}"></span>'
        f"{escape(r.stage)}{' (BROKEN)' if judge(r).is_broken else ''}</button>"
        for r in results
    )
    errors = "".join(
        f'<p class="note">{escape(r.stage)} did not run to the end: {escape(r.run["error"])}</p>'
        for r in results
        if r.run.get("error")
    )
    links = ", ".join(
        f'<a href="{escape(r.stage)}/locust.html">{escape(r.stage)}</a>'
        for r in results
        if (r.folder / "locust.html").exists()
    )
    panels = "".join(svgs)
    script = SCRIPT % {"width": WIDTH, "left": LEFT, "plot": WIDTH - LEFT - RIGHT}
    data_json = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}{trace_section.STYLE}</style>
<script>window.addEventListener("error", function (e) {{
  document.body.dataset.scriptError = String(e.message);
}});</script></head>
<body>
<h1>{escape(title)}</h1>
<p class="note">{_describe_run(results)}.</p>
{_what_it_shows(results)}
{errors}
{_summary_table(results)}
{_not_measured(results)}
<p class="note">Requests, failures and latency are Locust's Aggregated row: every entry,
each order's completion included (one entry per order, beside its HTTP requests).
Order completion is the time from POST /api/orders until GET /api/orders/{{id}} says the
order is final; out of stock and declined are valid answers, counted as successes.
Core-seconds are ready replicas x CPU request x time, on Kubernetes only.</p>
{resource_section.html(results)}
{capacity_section.html(results)}
{trace_section.html(results)}
<div class="legend">{legend}</div>
{panels}
{projection}
<h2>By entry</h2>
{_endpoint_table(results)}
<p class="note">Locust's own report of each stage: {links or "-"}.</p>
<script type="application/json" id="chart-data">{data_json}</script>
<script>{script}</script>
</body></html>
"""


def write(results: list[StageResult], folder: Path) -> Path:
    """Write report.html into the comparison folder; return its path."""
    path = folder / REPORT_NAME
    path.write_text(render(results), encoding="utf-8")
    return path
