"""Which cold start the projection uses: this run's, else the last one timed, else none."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import cold_start


def timed(folder: Path, ms: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / cold_start.FILE).write_text(json.dumps({"median_ms": ms, "timed_at": 0}))


def test_the_runs_own_then_the_last_timed_then_none(tmp_path: Path) -> None:
    run = tmp_path / "20260102-090000"
    run.mkdir()
    none = cold_start.for_comparison(run)
    assert none.ms is None and "assumed" in none.origin

    timed(tmp_path / "20260101-080000", 900.0)
    timed(tmp_path / "20260101-100000", 700.0)
    earlier = cold_start.for_comparison(run)
    assert earlier.ms == 700.0  # the newest folder's
    assert "not timed for this run" in earlier.origin and "20260101-100000" in earlier.origin

    timed(run, 650.0)
    own = cold_start.for_comparison(run)
    assert own.ms == 650.0 and "timed once for this run" in own.origin


def test_a_file_without_a_usable_figure_is_passed_over(tmp_path: Path) -> None:
    run = tmp_path / "20260102-090000"
    run.mkdir()
    (run / cold_start.FILE).write_text("{not json")
    timed(tmp_path / "20260101-080000", 900.0)
    assert cold_start.for_comparison(run).ms == 900.0
