"""CPU time a process (and its children) has used, from /proc (Linux).

On a machine shared with other work, wall-clock figures (req/s, ms) swing with
whatever else runs; the CPU a server spends per request, or a process spends to
start, does not, so the benchmarks report it next to the wall-clock figure.
"""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """User + system milliseconds `pid` has used so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def tree_cpu_ms(pid: int) -> float:
    """CPU milliseconds of `pid` and its living descendants (gunicorn: master and workers)."""
    return cpu_ms(pid) + sum(tree_cpu_ms(child) for child in children(pid))
