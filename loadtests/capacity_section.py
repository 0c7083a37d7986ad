"""The report's capacity section, and the terminal's capacity table.

Each stage's capacity ramp (loadtests.capacity_run) left capacity.json in
`<stage>/capacity/`: the objective, each step's figures and the conclusion
(loadtests.capacity). This module shows them side by side, with ratios to the
monolith, then each stage's steps and one paragraph written from its numbers
on what they mean for choosing an architecture. A stage whose ramp stopped
because Locust or the machine was the bottleneck says so instead of a limit.
"""

from __future__ import annotations

import textwrap
from html import escape

from loadtests import capacity_files, text_table
from loadtests.capacity import (
    BELOW_RAMP,
    CPU_BOUND,
    GENERATOR_BOUND,
    NOT_REACHED,
    Capacity,
    Objective,
    Step,
    breaches,
    generator_bound,
    locust_bound,
)
from loadtests.results import StageResult
from loadtests.summary import BASELINE

Found = tuple[str, dict]  # (stage, capacity.json's content)


def found_in(results: list[StageResult]) -> list[Found]:
    """The ramps that ran beside these load runs (a stage without one is left out)."""
    return [(r.stage, data) for r in results if (data := capacity_files.read(r.folder))]


def _capacity(data: dict) -> Capacity | None:
    return Capacity.from_json(data["capacity"]) if "capacity" in data else None


def _steps(data: dict) -> list[Step]:
    return [Step.from_json(s) for s in data.get("steps", [])]


def _objective(data: dict) -> Objective:
    return Objective(**data["objective"]) if "objective" in data else Objective()


def _stop_step(data: dict) -> Step | None:
    capacity, steps = _capacity(data), _steps(data)
    if capacity is None or not steps:
        return None
    return next((s for s in steps if s.number == capacity.stop_step), steps[-1])


def ratio(mine: Capacity | None, base: Capacity | None) -> str:
    """The capacity as a multiple of the monolith's; a lower bound on either side says so."""
    if not mine or not base or not mine.requests_per_s or not base.requests_per_s:
        return ""
    times = f"{mine.requests_per_s / base.requests_per_s:.2f}x"
    if mine.lower_bound and base.lower_bound:
        return f" ({times}, both lower bounds)"
    if mine.lower_bound:
        return f" (>= {times})"
    if base.lower_bound:
        return f" (<= {times})"
    return f" ({times})"


def _base(found: list[Found]) -> Capacity | None:
    return next((_capacity(d) for s, d in found if s == BASELINE), None)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}% of a core"


def _stopped(capacity: Capacity, stop: Step | None) -> str:
    """What stopped the ramp, short enough for a table cell (the paragraph says it all)."""
    if capacity.kind == NOT_REACHED or not capacity.reasons:
        return "nothing: the ramp ran out"
    if capacity.kind == GENERATOR_BOUND and stop is not None:
        busy = stop.busy
        if locust_bound(stop):
            return f"Locust at {100 * (busy.locust_share or 0):.0f}% of a core"
        return f"machine full, {busy.others_cores or 0:.1f} cores of other work"
    more = f" (+{len(capacity.reasons) - 1} more)" if len(capacity.reasons) > 1 else ""
    return f"step {capacity.stop_step}: {capacity.reasons[0]}{more}"


def rows(found: list[Found]) -> list[tuple[str, str, list[str]]]:
    """(key, label, one cell per stage) of the side-by-side table."""
    base = _base(found)
    table: dict[str, tuple[str, list[str]]] = {
        "capacity": ("capacity, sustained", []),
        "users": ("at users (tasks/s offered)", []),
        "conclusion": ("conclusion", []),
        "stopped": ("what stopped the ramp", []),
        "hot": ("hot component at the stop", []),
        "locust": ("Locust's busiest process", []),
        "host": ("this machine's busy cores", []),
    }
    for stage, data in found:
        capacity, stop = _capacity(data), _stop_step(data)
        if capacity is None:
            for key, (_label, cells) in table.items():
                cells.append(f"not run: {data.get('error', '?')}" if key == "capacity" else "-")
            continue
        mine_vs = ratio(capacity, base) if stage != BASELINE else ""
        table["capacity"][1].append(capacity.headline() + mine_vs)
        offered = f"{capacity.users * data['rate']:,.0f}" if capacity.users else "-"
        table["users"][1].append(f"{capacity.users} ({offered})" if capacity.users else "-")
        table["conclusion"][1].append(capacity.kind)
        table["stopped"][1].append(_stopped(capacity, stop))
        hot = "-"
        if capacity.hot and capacity.hot_share is not None:
            hot = f"{capacity.hot} ({_share(capacity.hot_share)})"
        table["hot"][1].append(hot)
        busy = stop.busy if stop else None
        table["locust"][1].append(_share(busy.locust_share) if busy else "-")
        host = "-"
        if busy and busy.host_cores is not None:
            host = f"{busy.host_cores:.2f}" + (f" of {busy.cpus}" if busy.cpus else "")
        table["host"][1].append(host)
    return [(key, label, cells) for key, (label, cells) in table.items()]


def paragraph(stage: str, data: dict, base: Capacity | None) -> str:
    """What this stage's capacity means for choosing an architecture, from its numbers."""
    capacity = _capacity(data)
    if capacity is None:
        return f"{stage}: the capacity ramp did not run ({data.get('error', 'no result')})."
    rate = data["rate"]
    at = f"{capacity.users} users at {rate:g} tasks/s each" if capacity.users else ""
    versus = ratio(capacity, base) if stage != BASELINE else ""
    if capacity.kind == GENERATOR_BOUND:
        held = (
            f"sustained {capacity.headline()}{versus} ({at}), then the ramp stopped"
            if capacity.requests_per_s
            else "the ramp stopped at its first step"
        )
        return (
            f"{stage}: {held} because {'; '.join(capacity.reasons)}. That is the load "
            "generator's or this machine's limit, not the stage's: run Locust where it has "
            "cores of its own (URL=), or when the machine is quiet, to find the stage's."
        )
    if capacity.kind == NOT_REACHED:
        return (
            f"{stage}: every step held, up to {capacity.headline()}{versus} ({at}); its limit "
            "is above this ramp (PROFILE=full ramps higher)."
        )
    if capacity.kind == BELOW_RAMP:
        return (
            f"{stage}: the first step already broke the objective ({'; '.join(capacity.reasons)})"
            "; loosen it or lower RATE= to measure a capacity."
        )
    text = (
        f"{stage}: sustained {capacity.headline()}{versus} ({at}); the next step broke the "
        f"objective ({'; '.join(capacity.reasons)})."
    )
    if capacity.hot is None or capacity.hot_share is None:
        return text + " Its processes were not sampled here (remote stage)."
    text += f" Its hot component then was {capacity.hot}, at {_share(capacity.hot_share)}"
    if capacity.hot_share >= CPU_BOUND:
        what = (
            "so more throughput takes another copy of the whole application"
            if stage == BASELINE
            else f"so more throughput takes more copies of {capacity.hot} alone, not of the rest"
        )
        return text + f": CPU-bound, {what}."
    return (
        text + ": no process was near a full core, so the limit was waiting (for the database, "
        "a peer, an event), which more copies of one process do not remove by themselves."
    )


def terminal_rows(found: list[Found]) -> list[str]:
    """The capacity table as plain text lines, then one paragraph per stage."""
    if not found:
        return []
    table = [["capacity", *(s for s, _ in found)]]
    table += [[label, *cells] for _key, label, cells in rows(found)]
    lines = text_table.aligned(table)
    objective = _objective(found[0][1])
    lines += ["", f"Objective of each step: {objective.describe()}.", "What the capacity means:"]
    base = _base(found)
    for stage, data in found:
        lines += textwrap.wrap(
            paragraph(stage, data, base), 100, initial_indent="  ", subsequent_indent="    "
        )
    return lines


def terminal(results: list[StageResult]) -> list[str]:
    return terminal_rows(found_in(results))


STEP_HEAD = [
    "step", "users", "offered tasks/s", "carried tasks/s", "req/s", "read p95 ms",
    "order p95 ms", "errors", "hot component", "Locust", "verdict",
]  # fmt: skip


def _step_cells(step: Step, objective: Objective) -> list[str]:
    found = breaches(step, objective)
    bound = generator_bound(step)
    verdict = "; ".join(found) if found else "sustained"
    if bound:
        verdict += f" (generator bound: {bound})"
    busy = step.busy
    hot = f"{busy.hot} {100 * busy.hot_share:.0f}%" if busy.hot and busy.hot_share else "-"
    return [
        str(step.number),
        str(step.users),
        f"{step.offered_tasks_per_s:,.0f}",
        f"{step.carried_tasks_per_s:,.0f}",
        f"{step.requests_per_s:,.0f}",
        "-" if step.read_p95_ms is None else f"{step.read_p95_ms:,.0f}",
        "-" if step.order_p95_ms is None else f"{step.order_p95_ms:,.0f}",
        f"{100 * step.error_rate:.1f}%",
        hot,
        "-" if busy.locust_share is None else f"{100 * busy.locust_share:.0f}%",
        verdict,
    ]


def html(results: list[StageResult]) -> str:
    """The page's section: the side-by-side rows, then each stage's steps and paragraph."""
    found = found_in(results)
    if not found:
        return ""
    head = "".join(f'<th scope="col">{escape(s)}</th>' for s, _ in found)
    body = "".join(
        f"<tr><th scope='row'>{escape(label)}</th>"
        + "".join(
            f'<td data-stage="{escape(s)}" data-capacity="{key}">{escape(cell)}</td>'
            for (s, _), cell in zip(found, cells, strict=True)
        )
        + "</tr>"
        for key, label, cells in rows(found)
    )
    base = _base(found)
    stages = []
    for stage, data in found:
        objective = _objective(data)
        steps = "".join(
            "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in _step_cells(s, objective)) + "</tr>"
            for s in _steps(data)
        )
        stages.append(
            f"<h3>{escape(stage)}</h3>"
            f'<table class="components" data-capacity-steps="{escape(stage)}"><thead><tr>'
            + "".join(f"<th>{escape(h)}</th>" for h in STEP_HEAD)
            + f"</tr></thead><tbody>{steps}</tbody></table>"
            f'<p class="meaning" data-stage="{escape(stage)}">'
            f"{escape(paragraph(stage, data, base))}</p>"
        )
    objective = _objective(found[0][1])
    return (
        '<section id="capacity"><h2>Capacity: the highest sustained load on this machine</h2>'
        '<p class="note">Measured here by a closed-loop ramp: more users at each step, each '
        "paced at a fixed rate, stopped at the first step that broke the objective "
        f"({escape(objective.describe())}), or as soon as Locust's busiest process neared a "
        "full core or other work filled the machine's cores (then the figure is a lower "
        "bound, not the stage's limit). The capacity is the HTTP requests per second of the "
        "highest sustained step; the hot component is the stage's busiest process at the "
        "step that broke. Each step's first 2 s are left out of its figures.</p>"
        f'<table id="capacity-table"><thead><tr><th>measured</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{''.join(stages)}</section>"
    )
