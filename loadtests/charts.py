"""Line charts as inline SVG: one chart, every stage a line, shared axes.

Drawn here in Python, so the report needs no chart library and no network:
the page's own small script only adds the legend toggles and the hover
read-out (see report.py).
"""

from __future__ import annotations

import math
from html import escape

from loadtests.results import Series

WIDTH, HEIGHT = 900, 250
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 14, 34
PALETTE = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e"]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value (an axis end)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def _x_step(x_max: float) -> float:
    for step in (5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600):
        if x_max / step <= 10:
            return step
    return 7200


def _segments(points: list[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of points with values; a None is a gap."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [run for run in runs if run]


def line_chart(
    chart_id: str,
    title: str,
    series: dict[str, Series],
    colors: dict[str, str],
    x_max: float,
    step: bool = False,
    offered: Series | None = None,
    muted: frozenset[str] = frozenset(),
) -> str:
    """An SVG chart of each stage's series over seconds since the test started.

    `step` draws each value until the next one (replica counts), instead of
    joining points with straight lines. `offered`, if given, is drawn as a grey
    dashed line (the load asked for); the stages in `muted` (broken runs) are
    drawn dashed and faint, so they do not read as results.
    """
    values = [v for s in series.values() for v in s.values()]
    values += offered.values() if offered else []
    y_max = nice_ceiling(max(values, default=0.0))
    x_max = max(x_max, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + plot_w * min(max(x, 0.0), x_max) / x_max

    def py(y: float) -> float:
        return TOP + plot_h * (1 - y / y_max)

    parts = [
        f'<svg class="chart" id="{chart_id}" data-x-max="{x_max:g}" data-y-max="{y_max:g}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i in range(6):  # y grid and labels
        y = y_max * i / 5
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{py(y):.1f}" y2="{py(y):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">'
            f"{_label(y)}</text>"
        )
    x_step = _x_step(x_max)
    tick = 0.0
    while tick <= x_max + 1e-9:
        parts.append(
            f'<line class="grid" x1="{px(tick):.1f}" x2="{px(tick):.1f}" y1="{TOP}" '
            f'y2="{HEIGHT - BOTTOM}"/><text class="tick" x="{px(tick):.1f}" '
            f'y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{tick:g}</text>'
        )
        tick += x_step
    parts.append(
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" text-anchor="end">'
        "seconds since the start</text>"
    )
    if offered:
        for run in _segments(offered.points):
            steps = " L".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            parts.append(f'<path class="offered" d="M{steps}"><title>offered</title></path>')
    for stage, data in series.items():
        kind = "series broken" if stage in muted else "series"
        for run in _segments(data.points):
            coords: list[str] = []
            for i, (x, y) in enumerate(run):
                if step and i:
                    coords.append(f"{px(x):.1f},{py(run[i - 1][1]):.1f}")
                coords.append(f"{px(x):.1f},{py(y):.1f}")
            if len(run) == 1:  # a lone point: a short dash, so that it shows
                coords.append(f"{px(run[0][0]) + 2:.1f},{py(run[0][1]):.1f}")
            parts.append(
                f'<polyline class="{kind}" data-stage="{escape(stage)}" '
                f'stroke="{colors[stage]}" points="{" ".join(coords)}"/>'
            )
    parts.append(
        f'<line class="cursor" x1="0" x2="0" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
        'visibility="hidden"/></svg>'
    )
    return "".join(parts)
