"""Reading the JSON log lines of a launcher's log file (`name | {...}` per line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def entries(path: Path, process: str | None = None) -> list[dict[str, Any]]:
    """Every line as its JSON object, with "process" added; a line that is not JSON (a
    test's own stand-in process) as {"message": line}."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        name, _, text = line.partition(" | ")
        if process is not None and name != process:
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            entry = {"message": text}
        found.append({**entry, "process": name})
    return found


def messages(path: Path, process: str | None = None) -> list[str]:
    """The message of every line (of `process`), oldest first."""
    return [str(entry.get("message", "")) for entry in entries(path, process)]
