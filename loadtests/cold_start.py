"""The cold start the projection uses: timed for this run, else the last one timed, else none.

benchmarks/function_cold_start.py times a function's process start to its first
event handled (the imports dominate) and, with --json, writes the figures to
cold_start.json. `make demo` times it once, quickly (3 rounds, a few seconds), into
its comparison folder; a report rebuilt from a folder without one takes the newest
file beside it (an earlier run's, said so on the page), and with none the projection
assumes a start and says that too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loadtests.projection.timeline import ASSUMED_START_S

FILE = "cold_start.json"
DEMO_ROUNDS = 3


@dataclass(frozen=True)
class ColdStart:
    """A cold start in ms (None: none timed) and where it comes from, for the page."""

    ms: float | None
    origin: str


def time_once(folder: Path, rounds: int = DEMO_ROUNDS) -> Path | None:
    """Run the benchmark into folder/cold_start.json; None (and a note) when it fails:
    the projection then falls back, it does not stop the run."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / FILE
    bench = [sys.executable, "-m", "benchmarks.function_cold_start", "--rounds", str(rounds)]
    done = subprocess.run(
        [*bench, "--json", str(target)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0 or not target.exists():
        print(f"cold start not timed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return target


def _read(path: Path) -> float | None:
    try:
        value = json.loads(path.read_text())["median_ms"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _when(path: Path) -> str:
    try:
        stamp = json.loads(path.read_text())["timed_at"]
        return datetime.fromtimestamp(float(stamp), UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OSError, ValueError, KeyError, TypeError):
        return "an earlier run"


def for_comparison(folder: Path) -> ColdStart:
    """The cold start for the comparison kept in `folder` (reports/<timestamp>)."""
    own = folder / FILE
    ms = _read(own) if own.exists() else None
    if ms is not None:
        return ColdStart(
            ms,
            f"{ms:,.0f} ms, the median of a function's process start to its first event "
            "handled, timed once for this run by benchmarks/function_cold_start.py",
        )
    earlier = sorted(folder.parent.glob(f"*/{FILE}"), reverse=True)
    for path in earlier:
        if (ms := _read(path)) is not None:
            return ColdStart(
                ms,
                f"{ms:,.0f} ms, the last cold start timed by benchmarks/function_cold_start.py "
                f"({_when(path)}, {path.parent.name}/{FILE}), not timed for this run",
            )
    return ColdStart(
        None,
        "none timed (run benchmarks/function_cold_start.py --json into the run's folder): "
        f"a new pod is assumed to serve after {ASSUMED_START_S:g} s",
    )
