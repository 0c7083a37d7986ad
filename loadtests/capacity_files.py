"""Where a capacity ramp keeps its results in a stage's folder, and reading them back.

Apart from loadtests/capacity_run.py (which runs the ramp and imports the runner) so the
report can read a ramp's results without importing the runner that imports the report.
"""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = "capacity"
STEPS_FILE = "steps.jsonl"
RESULT_FILE = "capacity.json"


def read(stage_folder: Path) -> dict | None:
    """capacity.json of a stage's folder, or None when no ramp ran there."""
    path = stage_folder / FOLDER / RESULT_FILE
    return json.loads(path.read_text()) if path.exists() else None
