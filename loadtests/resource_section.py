"""The report's resources section: CPU per request, memory, the hot component, per stage.

The figures come from resources.csv through loadtests.resource_use. For each
stage: a row in the side-by-side table (with ratios to the monolith), a table
of its components, and one paragraph written from that run's numbers about
what they mean for choosing an architecture. A stage that ran elsewhere (a
URL) has no processes here: it says "not measured (remote stage)".
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from loadtests import text_table
from loadtests.resource_use import ComponentUse, StageUse, locust_use, stage_use
from loadtests.results import StageResult
from loadtests.summary import BASELINE
from loadtests.verdict import judge

MIB = 1024 * 1024
REMOTE = "not measured (remote stage)"
NOT_SAMPLED = "not measured (no samples)"
# Processes that only carry requests or events between the others.
PLUMBING = ("gateway", "broker")
# The machine's busy cores (or, unmeasured, the stage's and Locust's) above this share of
# its cores: it was near its limit.
MACHINE_BUSY = 0.8


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value / MIB:,.0f}"


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _times(value: float | None, base: float | None) -> str | None:
    return f"{value / base:.1f}x" if value is not None and base else None


def _ratio(value: float | None, base: float | None) -> str:
    times = _times(value, base)
    return f" ({times})" if times else ""


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    show: Callable[[StageUse, StageUse | None], str]


def _hot(use: StageUse, _base: StageUse | None) -> str:
    hot = use.hot
    return f"{hot.name} ({_pct(hot.busiest_peak)} of a core)" if hot else "-"


def _locust(use: StageUse, _base: StageUse | None) -> str:
    return f"{_pct(use.locust.busiest_peak)} of a core" if use.locust else "-"


ROWS = [
    Row(
        "core_ms_request",
        "CPU core-ms / request",
        lambda u, b: (
            f"{u.core_ms_per_request or 0:.2f}"
            + _ratio(u.core_ms_per_request, b and b.core_ms_per_request)
        ),
    ),
    Row(
        "core_ms_order",
        "CPU core-ms / order",
        lambda u, b: (
            f"{u.core_ms_per_order or 0:.1f}"
            + _ratio(u.core_ms_per_order, b and b.core_ms_per_order)
        ),
    ),
    Row("cores", "stage CPU under load, cores", lambda u, _b: f"{u.cores:.2f}"),
    Row(
        "rest_mib",
        "memory at rest MiB",
        lambda u, b: _mib(u.rest_rss) + _ratio(u.rest_rss, b and b.rest_rss),
    ),
    Row("load_mean_mib", "memory under load MiB, mean", lambda u, _b: _mib(u.load_mean_rss)),
    Row(
        "load_peak_mib",
        "memory under load MiB, peak",
        lambda u, b: _mib(u.load_peak_rss) + _ratio(u.load_peak_rss, b and b.load_peak_rss),
    ),
    Row("hot", "hot component (busiest process)", _hot),
    Row("locust", "Locust's CPU, peak", _locust),
    Row("host", "this machine's busy cores, mean", lambda u, _b: _host(u)),
]


def _host(use: StageUse) -> str:
    if not use.host:
        return "-"
    return f"{use.host.cores:.2f}" + (f" of {use.host_cpus}" if use.host_cpus else "")


def _absent(result: StageResult) -> str:
    return NOT_SAMPLED if result.run.get("started_here") else REMOTE


def _baseline(results: list[StageResult]) -> StageUse | None:
    base = next((r for r in results if r.stage == BASELINE), None)
    if base is None or judge(base).is_broken:
        return None
    return stage_use(base)


def cells(results: list[StageResult]) -> list[tuple[Row, list[str]]]:
    """Each row of the side-by-side table with one cell per stage."""
    base = _baseline(results)
    uses = [stage_use(r) for r in results]
    table = []
    for row in ROWS:
        shown = []
        for r, use in zip(results, uses, strict=True):
            if use is not None:
                shown.append(row.show(use, base if r.stage != BASELINE else None))
            elif row.key == "locust" and (mine := locust_use(r)):
                shown.append(f"{_pct(mine.busiest_peak)} of a core")
            else:
                shown.append(_absent(r) if row.key == ROWS[0].key else "-")
        table.append((row, shown))
    return table


def paragraph(result: StageResult, base: StageUse | None) -> str:
    """What this stage's resources mean for choosing an architecture, from its numbers."""
    use = stage_use(result)
    name = result.stage
    if use is None:
        text = f"{name}: {_absent(result)}; its processes ran elsewhere."
        mine = locust_use(result)
        if mine:
            text += f" Locust, here, used {_pct(mine.busiest_peak)} of a core at its peak."
        return text
    if judge(result).is_broken:
        return f"{name} is BROKEN: its resource figures are shown but say nothing of the stage."
    versus = base if name != BASELINE else None
    per_request = _times(use.core_ms_per_request, versus and versus.core_ms_per_request)
    per_order = _times(use.core_ms_per_order, versus and versus.core_ms_per_order)
    at_rest = _times(use.rest_rss, versus and versus.rest_rss)
    rest_versus = f" ({at_rest} the monolith's)" if at_rest else ""
    parts = [
        f"{name}: each HTTP request cost {use.core_ms_per_request or 0:.2f} core-ms of CPU and "
        f"each completed order {use.core_ms_per_order or 0:.0f} core-ms (all the stage's CPU "
        "under this mix, over its orders)"
        + (f", {per_request} and {per_order} the monolith's" if per_request and per_order else "")
        + ".",
        f"Its {sum(c.processes for c in use.components)} processes held {_mib(use.rest_rss)} "
        f"MiB at rest{rest_versus} and "
        f"{_mib(use.load_peak_rss)} MiB at the peak of the load.",
    ]
    parts += _hot_sentences(use, versus)
    parts += _machine_sentences(use, use.host_cpus)
    return " ".join(parts)


def _hot_sentences(use: StageUse, versus: StageUse | None) -> list[str]:
    parts = []
    hot = use.hot
    if hot is not None and len(use.components) == 1:
        parts.append(
            f"It is one component, whose busiest process reached {_pct(hot.busiest_peak)} of "
            "a core: to carry more, the whole application is copied, "
            f"{_mib(hot.rest_rss)} MiB each at rest."
        )
    elif hot is not None:
        share = hot.cpu_seconds / use.cpu_seconds if use.cpu_seconds else 0.0
        used = "" if hot.name in PLUMBING else f" and it used {_pct(share)} of the stage's CPU"
        base_copy = f" ({_mib(versus.rest_rss)} MiB)" if versus and versus.rest_rss else ""
        parts.append(
            f"The hot component was {hot.name}: its busiest process reached "
            f"{_pct(hot.busiest_peak)} of a core, the most of any{used}, so it would reach a "
            f"full core first; it alone can be given more copies, {_mib(hot.rest_rss)} MiB "
            f"each at rest, where the monolith copies all of itself{base_copy}."
        )
    plumbing = [c for c in use.components if c.name in PLUMBING]
    if plumbing and use.cpu_seconds:
        spent = sum(c.cpu_seconds for c in plumbing) / use.cpu_seconds
        names = " and ".join(c.name for c in plumbing)
        parts.append(
            f"Passing requests and events between processes ({names}) took {_pct(spent)} of "
            "the stage's CPU."
        )
    return parts


def _machine_sentences(use: StageUse, cpus: int | None) -> list[str]:
    parts = []
    together = use.cores + (use.locust.cores if use.locust else 0.0)
    busy = use.host.cores if use.host else together
    if cpus and busy >= MACHINE_BUSY * cpus:
        others = (
            f", {max(0.0, busy - together):.2f} by other work than the stage and Locust"
            if use.host
            else ""
        )
        parts.append(
            f"This machine's {cpus} cores were {busy:.2f} busy on average under load{others}: "
            "it was near its limit, so the latencies include waiting for a core, and what the "
            "stage carried here says more about this machine than about the stage."
        )
    if use.locust_busy and use.locust:
        parts.append(
            f"Locust's busiest process reached {_pct(use.locust.busiest_peak)} of a core: the "
            "load generator may have held the load back, so this run may show Locust's limit "
            "rather than the stage's."
        )
    return parts


def _component_rows(use: StageUse) -> list[list[str]]:
    def row(c: ComponentUse, label: str) -> list[str]:
        per_request = use.core_ms_per_request_of(c)
        return [
            label,
            str(c.processes),
            f"{c.cpu_seconds:.1f}",
            "-" if per_request is None else f"{per_request:.2f}",
            f"{c.cores:.2f}",
            _pct(c.busiest_peak),
            _mib(c.rest_rss),
            _mib(c.load_rss),
        ]

    rows = [row(c, c.name) for c in use.components]
    if use.locust:
        rows.append(row(use.locust, "locust (load generator, not counted)"))
    return rows


COMPONENT_HEAD = [
    "component", "processes", "CPU s", "core-ms / request", "cores",
    "busiest process, peak", "MiB at rest", "MiB under load",
]  # fmt: skip


def html(results: list[StageResult]) -> str:
    """The page's section: the side-by-side rows, then each stage's components and paragraph."""
    if not results:
        return ""
    head = "".join(f'<th scope="col">{escape(r.stage)}</th>' for r in results)
    body = "".join(
        f"<tr><th scope='row'>{escape(row.label)}</th>"
        + "".join(
            f'<td data-stage="{escape(r.stage)}" data-resource="{row.key}">{escape(cell)}</td>'
            for r, cell in zip(results, shown, strict=True)
        )
        + "</tr>"
        for row, shown in cells(results)
    )
    base = _baseline(results)
    stages = []
    for r in results:
        use = stage_use(r)
        table = ""
        if use is not None:
            rows = "".join(
                "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in values) + "</tr>"
                for values in _component_rows(use)
            )
            table = (
                f'<table class="components" data-stage="{escape(r.stage)}"><thead><tr>'
                + "".join(f"<th>{escape(h)}</th>" for h in COMPONENT_HEAD)
                + f"</tr></thead><tbody>{rows}</tbody></table>"
            )
        stages.append(
            f"<h3>{escape(r.stage)}</h3>{table}"
            f'<p class="meaning" data-stage="{escape(r.stage)}">{escape(paragraph(r, base))}</p>'
        )
    return (
        '<section id="resources"><h2>Resources: CPU per request, memory, the hot component'
        '</h2><p class="note">Measured on this machine, every second, for every process of '
        "each stage started here (children included, Locust apart): CPU seconds under load "
        "over the HTTP requests and the completed orders Locust counted; memory as resident "
        "set size summed over the processes, at rest (before the load) and under load. The "
        "busiest process's share of one core, over 5 s at its peak, names the component "
        "that would saturate first.</p>"
        f'<table id="resources-table"><thead><tr><th>measured</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{''.join(stages)}</section>"
    )


def terminal(results: list[StageResult]) -> list[str]:
    """The same as plain text lines: the side-by-side rows, then one paragraph per stage."""
    if not results:
        return []
    rows = [["resources", *(r.stage for r in results)]]
    rows += [[row.label, *shown] for row, shown in cells(results)]
    lines = text_table.aligned(rows)
    base = _baseline(results)
    lines += ["", "What the resources mean:"]
    for r in results:
        lines += textwrap.wrap(
            paragraph(r, base), 100, initial_indent="  ", subsequent_indent="    "
        )
    return lines
