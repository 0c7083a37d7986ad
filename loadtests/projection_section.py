"""The report's projection section: each stage on a cluster at 10x and 100x this run's load.

For each stage that ran here, the CPU its components spent per request in this run
(resources.csv, through projection.run_figures) is fed to the autoscalers' documented
algorithms with the parameters of its rendered overlay (k8s/<stage>, projection.steady):
the replicas of each workload, the cores and memory they request, the core-seconds per
1,000 orders, and which workloads hit their maximum replicas. projection.timeline then
gives the replicas over the step and idle-burst shapes (their full profiles, the peak at
10x), with the autoscalers' delays and the cold start of loadtests.cold_start. Every
title, cell and sentence here says "projected": none of it was observed on a cluster.
On a cluster run (replicas.csv) the replicas the sampler saw are drawn beside the
projection of the run's own shape, in a panel of their own.
"""

from __future__ import annotations

import subprocess
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

from loadtests import cold_start
from loadtests.charts import line_chart
from loadtests.projection.command import shape_stages
from loadtests.projection.demand import StageDemand
from loadtests.projection.manifests import Workload, stage_workloads
from loadtests.projection.run_figures import RESOURCES, demand_from_run
from loadtests.projection.steady import StageProjection, project
from loadtests.projection.timeline import StageTimeline, stage_timeline
from loadtests.results import AGGREGATED, Series, StageResult
from loadtests.summary import BASELINE
from loadtests.traffic_mix import ENTRIES, WEIGHTS
from loadtests.verdict import judge

FACTORS = (10.0, 100.0)
TIMELINE_FACTOR = 10.0
# The shapes drawn, each with the idle seconds after it: after the burst the functions
# are seen to go back to zero (Knative's stable window 60 s + grace 30 s by default).
SHAPES = (("step", 0), ("idle-burst", 120))
PROFILE = "full"  # minutes long: the autoscalers' windows (15 s to 5 min) show in it
# Share of the mix's requests that read the catalog (browse, search, a product's page).
CATALOG_SHARE = (WEIGHTS["browse"] + WEIGHTS["search"] + WEIGHTS["view_product"]) / (
    sum(WEIGHTS[t] * ENTRIES[t] for t in WEIGHTS) - WEIGHTS["place_order"]
)
SOURCES = (
    "the Kubernetes HorizontalPodAutoscaler and Knative Pod Autoscaler algorithms as "
    "documented, with the parameters of <code>kubectl kustomize k8s/&lt;stage&gt;</code>"
)


@dataclass
class Outlook:
    """One stage's projection; `problem` says why there is none."""

    stage: str
    demand: StageDemand | None = None
    steady: dict[float, StageProjection] = field(default_factory=dict)
    timelines: dict[str, StageTimeline] = field(default_factory=dict)
    problem: str = ""


@lru_cache(maxsize=8)
def _workloads(stage: str) -> tuple[Workload, ...]:
    try:
        return tuple(stage_workloads(stage))
    except RuntimeError as error:  # no kubectl, or the overlay does not render
        raise ValueError(str(error)) from None


@lru_cache(maxsize=16)
def _shape(name: str, profile: str) -> tuple[dict, ...]:
    return tuple(shape_stages(name, profile))


def _projected(stage: str, demand: StageDemand) -> Outlook:
    workloads = list(_workloads(stage))
    steady = {factor: project(workloads, demand, factor) for factor in FACTORS}
    peak = steady[TIMELINE_FACTOR].load_rps
    timelines = {
        name: stage_timeline(workloads, demand, list(_shape(name, PROFILE)), peak, tail)
        for name, tail in SHAPES
    }
    return Outlook(stage, demand, steady, timelines)


def _stage_demand(folder: Path, cold_ms: float | None) -> StageDemand:
    """The run's figures; refused when no process of the stage was sampled (a stage that ran
    elsewhere: only Locust's and the machine's rows), as there is no CPU to project from."""
    demand = demand_from_run(folder, cold_ms)
    if not demand.components:
        raise ValueError(
            f"{RESOURCES} holds no process of the stage (it ran elsewhere): no CPU per request"
        )
    return demand


@lru_cache(maxsize=16)
def _outlook(folder: Path, stage: str, broken: bool, cold_ms: float | None) -> Outlook:
    if broken:
        return Outlook(stage, problem="the run is BROKEN: its figures are no base to project")
    try:
        return _projected(stage, _stage_demand(folder, cold_ms))
    except (ValueError, OSError, subprocess.SubprocessError) as error:
        return Outlook(stage, problem=str(error))


def cold_start_of(results: list[StageResult]) -> cold_start.ColdStart:
    folder = results[0].folder.parent if results else Path(".")
    return cold_start.for_comparison(folder)


def outlooks(results: list[StageResult]) -> list[Outlook]:
    """Each stage's projection (computed once per folder: the page and the terminal share it)."""
    cold = cold_start_of(results)
    return [_outlook(r.folder, r.stage, judge(r).is_broken, cold.ms) for r in results]


# --- the sentences ----------------------------------------------------------------------------


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _scaled(projection: StageProjection) -> list:
    return [w for w in projection.workloads if w.scaler != "fixed"]


def steady_paragraph(outlook: Outlook, base: Outlook | None) -> str:
    """What the projection at 10x and 100x means for choosing an architecture."""
    if outlook.problem:
        return f"{outlook.stage}: no projection: {outlook.problem}."
    low, high = outlook.steady[FACTORS[0]], outlook.steady[FACTORS[1]]
    name = outlook.stage
    parts = [
        f"{name}, projected: at {low.factor:g}x this run's load ({low.load_rps:,.0f} req/s) "
        f"{low.replicas} pods over {len(low.workloads)} workloads requesting "
        f"{low.requested_cores:.1f} cores and {low.requested_memory_mib:,.0f} MiB; at "
        f"{high.factor:g}x ({high.load_rps:,.0f} req/s) {high.replicas} pods, "
        f"{high.requested_cores:.1f} cores and {high.requested_memory_mib:,.0f} MiB."
    ]
    cost = low.requested_core_seconds_per_1000_orders
    versus = ""
    if base and not base.problem and name != base.stage:
        theirs = base.steady[FACTORS[0]].requested_core_seconds_per_1000_orders
        versus = f", {cost / theirs:.1f}x the monolith's" if theirs else ""
    parts.append(
        f"A cluster would reserve {cost:,.0f} core-seconds per 1,000 orders at "
        f"{low.factor:g}x{versus} (the CPU it would use: "
        f"{low.used_core_seconds_per_1000_orders:,.0f} core-seconds)."
    )
    parts += _shape_of_growth(low, high)
    for projection in (low, high):
        capped = [w for w in projection.workloads if w.capped]
        if capped:
            which = ", ".join(f"{w.name} (needs {w.needed}, max {w.replicas})" for w in capped)
            verb = "hits its" if len(capped) == 1 else "hit their"
            parts.append(
                f"At {projection.factor:g}x {which} {verb} maximum replicas: the requests "
                "beyond what those pods carry queue, so the maximum in k8s/ has to be raised "
                "before such a load."
            )
            break  # the lowest load that meets a maximum says it; 100x only adds more
    return " ".join(parts)


def _shape_of_growth(low: StageProjection, high: StageProjection) -> list[str]:
    """How the stage grows, from the replicas its autoscalers ask for (maximums aside)."""
    scaled_low, scaled_high = _scaled(low), _scaled(high)
    if len(scaled_high) == 1:
        pod = scaled_high[0]
        each_cores = pod.needed_cores / pod.needed if pod.needed else 0.0
        each_mib = pod.requested_memory_mib / pod.replicas if pod.replicas else 0.0
        return [
            f"Each replica is the whole shop ({pod.processes_per_pod} processes, "
            f"{each_cores:g} cores and {each_mib:,.0f} MiB requested): though the catalog's "
            f"reads are {_pct(CATALOG_SHARE)} of the requests, it asks for "
            f"{scaled_low[0].needed} copies of all of itself at {low.factor:g}x and "
            f"{pod.needed} at {high.factor:g}x, orders, payments and notifications included."
        ]
    if not scaled_high or high.needed_cores <= 0:
        return []
    hot = max(scaled_high, key=lambda w: (w.needed_cores, w.needed))
    before = {w.name: w.needed for w in scaled_low}
    still = [w for w in scaled_high if w.needed == before.get(w.name)]
    parts = [
        f"The hot workload is {hot.name}: its autoscaler asks for {before.get(hot.name, 0)} "
        f"replicas at {low.factor:g}x and {hot.needed} at {high.factor:g}x, "
        f"{_pct(hot.needed_cores / high.needed_cores)} of the cores the stage asks for there; "
        "only the workloads that carry the load get more copies."
    ]
    if still:
        zero = [w.name for w in still if w.needed == 0]
        parts.append(
            f"{len(still)} of its {len(scaled_high)} scaled workloads do not grow from "
            f"{low.factor:g}x to {high.factor:g}x"
            + (f" ({len(zero)} of them stay at zero: {', '.join(zero)})" if zero else "")
            + "."
        )
    return parts


def totals_over_time(timeline: StageTimeline) -> list[int]:
    """The stage's pods (all its workloads) at each second of the shape."""
    return [sum(counts) for counts in zip(*(w.replicas for w in timeline.workloads), strict=True)]


def timeline_series(outlooks_: list[Outlook], shape: str) -> dict[str, Series]:
    """Each stage's projected pods over the shape, a point per second."""
    return {
        o.stage: Series([(float(s), float(n)) for s, n in enumerate(totals_over_time(t))])
        for o in outlooks_
        if (t := o.timelines.get(shape)) is not None
    }


def _at_zero(timeline: StageTimeline) -> list[tuple[str, int]]:
    """(workload, seconds it had no pod) of each workload that dropped to zero."""
    return [(w.name, w.replicas.count(0)) for w in timeline.workloads if 0 in w.replicas]


def timeline_paragraph(outlooks_: list[Outlook], shape: str) -> str:
    """What the projected replicas over the shape mean for choosing an architecture."""
    found = [(o, o.timelines[shape]) for o in outlooks_ if shape in o.timelines]
    if not found:
        return f"No projection over the {shape} shape: no stage has figures to project from."
    first = found[0][1]
    parts = [
        f"Projected over the {shape} shape ({PROFILE} profile, {len(first.rates)} s, its peak "
        f"at {TIMELINE_FACTOR:g}x this run's load):"
    ]
    for outlook, timeline in found:
        pods = totals_over_time(timeline)
        text = (
            f"{outlook.stage} between {min(pods)} and {max(pods)} pods, "
            f"{timeline.core_seconds:,.0f} requested core-seconds"
        )
        zero = _at_zero(timeline)
        colds = sum(len(w.cold_starts) for w in timeline.workloads)
        if zero:
            kpa = sum(1 for w in timeline.workloads if w.scaler == "KPA")
            text += (
                f"; {len(zero)} of its {kpa} functions dropped to zero when idle (for up to "
                f"{max(s for _, s in zero)} s), paying for no pod then"
            )
        if colds:
            text += (
                f"; {colds} cold starts (a workload woken from zero), each waiting "
                f"{1000 * timeline.start_s:,.0f} ms for its first pod to serve"
            )
        short = max((w.saturated_s for w in timeline.workloads), default=0)
        if short:
            worst = max(timeline.workloads, key=lambda w: w.saturated_s)
            text += f"; {worst.name} short of pods for {short} s while its autoscaler caught up"
        if min(pods) and not zero and outlook.stage == BASELINE:
            text += f"; never fewer than {min(pods)} pods, idle or not"
        parts.append(text + ".")
    if len(found) > 1:
        cheap = min(found, key=lambda f: f[1].core_seconds)
        dear = max(found, key=lambda f: f[1].core_seconds)
        if cheap[1].core_seconds > 0:
            parts.append(
                f"Over this shape {cheap[0].stage} reserves the fewest core-seconds, "
                f"{dear[1].core_seconds / cheap[1].core_seconds:.1f}x fewer than "
                f"{dear[0].stage}."
            )
    return " ".join(parts)


# --- the page -------------------------------------------------------------------------------


STEADY_HEAD = [
    "stage", "load", "req/s", "pods", "requested cores", "requested MiB",
    "core-s / 1,000 orders", "at max replicas",
]  # fmt: skip


def _steady_rows(outlook: Outlook) -> list[list[str]]:
    rows = []
    for factor, p in outlook.steady.items():
        capped = ", ".join(f"{w.name} (needs {w.needed})" for w in p.workloads if w.capped)
        rows.append(
            [
                outlook.stage,
                f"{factor:g}x",
                f"{p.load_rps:,.0f}",
                str(p.replicas),
                f"{p.requested_cores:.2f}",
                f"{p.requested_memory_mib:,.0f}",
                f"{p.requested_core_seconds_per_1000_orders:,.0f}",
                capped or "none",
            ]
        )
    return rows


KEYS = ["stage", "factor", "rps", "replicas", "cores", "memory_mib", "core_s_1000", "capped"]


def _steady_table(found: list[Outlook]) -> str:
    body = []
    for o in found:
        if o.problem:
            body.append(
                f'<tr data-stage="{escape(o.stage)}"><th scope="row">{escape(o.stage)}</th>'
                f'<td colspan="{len(STEADY_HEAD) - 1}">no projection: {escape(o.problem)}</td></tr>'
            )
            continue
        for row in _steady_rows(o):
            cells = "".join(
                f'<td data-projected="{key}">{escape(value)}</td>'
                for key, value in zip(KEYS[1:], row[1:], strict=True)
            )
            body.append(
                f'<tr data-stage="{escape(o.stage)}" data-factor="{escape(row[1])}">'
                f'<th scope="row">{escape(row[0])}</th>{cells}</tr>'
            )
    head = "".join(f"<th>{escape(h)}</th>" for h in STEADY_HEAD)
    return (
        f'<table id="projection-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _workload_table(outlook: Outlook) -> str:
    """Each workload's projected replicas and requests at each load."""
    head = "<th>workload (projected)</th><th>scaler</th>" + "".join(
        f"<th>pods at {f:g}x</th><th>cores at {f:g}x</th>" for f in outlook.steady
    )
    names = [w.name for w in outlook.steady[FACTORS[0]].workloads]
    rows = []
    for i, name in enumerate(names):
        per = [p.workloads[i] for p in outlook.steady.values()]
        cells = "".join(
            f"<td>{w.replicas}{' (max)' if w.capped else ''}</td><td>{w.requested_cores:.2f}</td>"
            for w in per
        )
        rows.append(f"<tr><td>{escape(name)}</td><td>{per[0].scaler}</td>{cells}</tr>")
    return (
        f'<table class="components" data-stage="{escape(outlook.stage)}"><thead><tr>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _panel(chart_id: str, title: str, chart: str, note: str) -> str:
    return (
        f'<section class="panel"><h3>{escape(title)}</h3><div class="readout"></div>{chart}'
        f'<p class="outlook" data-chart="{chart_id}">{escape(note)}</p></section>'
    )


def html(results: list[StageResult], colors: dict[str, str]) -> tuple[str, dict]:
    """The section's HTML, and its charts' data for the page's hover read-out."""
    if not results:
        return "", {}
    found = outlooks(results)
    cold = cold_start_of(results)
    base = next((o for o in found if o.stage == BASELINE and not o.problem), None)
    stages = "".join(
        f"<h3>{escape(o.stage)}, projected</h3>"
        + (_workload_table(o) if not o.problem else "")
        + f'<p class="outlook" data-stage="{escape(o.stage)}">'
        f"{escape(steady_paragraph(o, base))}</p>"
        for o in found
    )
    panels, data = [], {}
    for shape, _tail in SHAPES:
        series = timeline_series(found, shape)
        if not series:
            continue
        chart_id = f"chart-projected-{shape}"
        title = f"Projected replicas over time: {shape} ({PROFILE} profile), peak at 10x"
        x_max = max(len(s.points) for s in series.values())
        chart = line_chart(chart_id, title, series, colors, x_max, step=True)
        panels.append(_panel(chart_id, title, chart, timeline_paragraph(found, shape)))
        data[chart_id] = {stage: s.points for stage, s in series.items()}
    cluster, cluster_data = _cluster_panel(results, colors, cold)
    data.update(cluster_data)
    section = (
        '<section id="projection"><h2>Projected on a cluster: replicas, cores and cost at '
        "10x and 100x this run's load</h2>"
        f'<p class="note">Projected, not run on a cluster: {SOURCES}, fed with the CPU each '
        "component spent per request in this run. Requested cores and memory are pods x "
        "their requests; core-seconds per 1,000 orders are the requested cores held while "
        f"1,000 orders are placed at that load. Cold start: {escape(cold.origin)}.</p>"
        f"{_steady_table(found)}{stages}{_key(results, colors)}{''.join(panels)}</section>"
    )
    return section + cluster, data


def _key(results: list[StageResult], colors: dict[str, str]) -> str:
    """Which colour is which stage, beside the charts (the page's legend is far above)."""
    return (
        '<p class="note">'
        + " ".join(
            f'<span class="swatch" style="background:{colors[r.stage]}"></span>{escape(r.stage)}'
            for r in results
        )
        + "</p>"
    )


def _earlier_demand(result: StageResult, cold_ms: float | None) -> StageDemand | None:
    """A cluster run has no local CPU samples: the newest local run of the stage beside it."""
    for samples in sorted(result.folder.parent.parent.glob(f"*/{result.stage}/{RESOURCES}"))[::-1]:
        try:
            return _stage_demand(samples.parent, cold_ms)
        except ValueError:
            continue
    return None


def _cluster_panel(
    results: list[StageResult], colors: dict[str, str], cold: cold_start.ColdStart
) -> tuple[str, dict]:
    """On a cluster run: the sampler's ready replicas beside the projection of the same shape
    at the run's own peak rate (dashed)."""
    series: dict[str, Series] = {}
    shown: dict[str, str] = {}
    notes = []
    for r in results:
        seen = r.replica_series()
        if seen is None or not seen.points:
            continue
        series[f"{r.stage} measured"] = seen
        shown[f"{r.stage} measured"] = colors[r.stage]
        own = (r.folder / RESOURCES).exists()
        demand = _outlook(r.folder, r.stage, False, cold.ms).demand if own else None
        demand = demand or _earlier_demand(r, cold.ms)
        history = r.history.get(AGGREGATED, {}).get("rps")
        peak = max(history.values(), default=0.0) if history else 0.0
        if demand is None or peak <= 0:
            notes.append(f"{r.stage}: no CPU figures here to project from")
            continue
        try:
            stages = list(_shape(str(r.run.get("shape")), str(r.run.get("profile"))))
            timeline = stage_timeline(list(_workloads(r.stage)), demand, stages, peak)
        except (ValueError, subprocess.SubprocessError) as error:
            notes.append(f"{r.stage}: no projection: {error}")
            continue
        pods = totals_over_time(timeline)
        series[f"{r.stage} projected"] = Series([(float(s), float(n)) for s, n in enumerate(pods)])
        shown[f"{r.stage} projected"] = colors[r.stage]
        notes.append(f"{r.stage}: projected from the CPU figures of {demand.source}")
    if not any(k.endswith(" projected") for k in series):
        return "", {}  # the replicas alone are the page's replicas chart already
    chart_id = "chart-replicas-beside-projection"
    title = "Ready replicas on the cluster (solid) beside the projection (dashed)"
    x_max = max((p[0] for s in series.values() for p in s.points), default=1.0)
    muted = frozenset(k for k in series if k.endswith(" projected"))
    chart = line_chart(chart_id, title, series, shown, max(x_max, 1.0), True, None, muted)
    text = (
        "The projection of this run's own shape at its peak request rate, beside the "
        "replicas the sampler counted; where they part, the manifests' parameters or the "
        "CPU figures do not describe the cluster. " + "; ".join(notes) + "."
    )
    panel = (
        f'<section id="replicas-beside-projection" class="panel"><h2>{escape(title)}</h2>'
        f'<div class="readout"></div>{chart}<p class="outlook">{escape(text)}</p></section>'
    )
    return panel, {chart_id: {k: s.points for k, s in series.items()}}


# --- the terminal ---------------------------------------------------------------------------


def terminal(results: list[StageResult]) -> list[str]:
    """The same as plain text: the table, then one paragraph per stage and per shape."""
    if not results:
        return []
    found = outlooks(results)
    rows = [STEADY_HEAD]
    for o in found:
        rows += _steady_rows(o) if not o.problem else [[o.stage, "-", "-", "-", "-", "-", "-", "-"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(STEADY_HEAD))]
    lines = [
        "Projected on a cluster (the autoscalers' algorithms, the k8s/ manifests, this run's "
        "CPU per request):"
    ]
    for row in rows:
        lines.append(
            "  ".join(
                cell.ljust(w) if i in (0, len(row) - 1) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    base = next((o for o in found if o.stage == BASELINE and not o.problem), None)
    lines += ["", "What the projection means:"]
    texts = [steady_paragraph(o, base) for o in found]
    texts += [timeline_paragraph(found, shape) for shape, _ in SHAPES]
    texts.append("Cold start: " + cold_start_of(results).origin + ".")
    for text in texts:
        lines += textwrap.wrap(text, 100, initial_indent="  ", subsequent_indent="    ")
    return lines
