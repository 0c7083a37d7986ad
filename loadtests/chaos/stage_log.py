"""What the stage's own log says went wrong: ERROR lines and tracebacks, per process.

A chaos run's verdict comes from the databases; this is a pointer beside it. A process
that answered 500 (say, on a unique key it could have treated as "already done") leaves a
traceback here even when a retry later repaired the outcome.

The processes write JSON lines (shop/telemetry/logs.py: the level, the message, a
logged exception's traceback in "exception"); text lines are still read, since a
process that dies before its logging is set up writes its traceback as plain text.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

TRACEBACK = "Traceback (most recent call last):"
SHOWN = 3  # kinds of exception (or error message) named per process
ERROR = re.compile(r"\bERROR:?\s+(.*)")  # the text log format, and uvicorn's
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})


def _entry(text: str) -> dict | None:
    """A JSON log line's object, or None for a plain text line."""
    if not text.startswith("{"):
        return None
    try:
        entry = json.loads(text)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def tracebacks(lines: list[str]) -> dict[str, Counter[str]]:
    """{process: Counter(exception line)} from `name | text` lines (the launcher's FileSink)."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    inside: set[str] = set()
    for line in lines:
        name, sep, text = line.partition(" | ")
        if not sep:
            continue
        entry = _entry(text)
        if entry is not None:
            if entry.get("exception"):  # its last line names the exception
                found[name][str(entry["exception"]).rstrip().splitlines()[-1][:200]] += 1
            continue
        if text.startswith(TRACEBACK):
            inside.add(name)
        elif name in inside and text and not text.startswith((" ", "\t")):
            inside.discard(name)  # the first line after the frames: the exception itself
            found[name][text[:200]] += 1
    return dict(found)


def errors(lines: list[str]) -> dict[str, Counter[str]]:
    """{process: Counter(message)} of the ERROR lines."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        name, sep, text = line.partition(" | ")
        entry = _entry(text) if sep else None
        if entry is not None:
            if entry.get("level") in ERROR_LEVELS:
                found[name][str(entry.get("message", ""))[:200]] += 1
            continue
        match = ERROR.search(text) if sep else None
        if match:
            found[name][match.group(1)[:200]] += 1
    return dict(found)


def _summaries(found: dict[str, Counter[str]], what: str) -> list[str]:
    return [
        f"{name} logged {sum(kinds.values())} {what}: "
        + "; ".join(f"{text} (x{n})" for text, n in kinds.most_common(SHOWN))
        for name, kinds in sorted(found.items())
    ]


def error_notes(log: Path) -> list[str]:
    """One line per process that logged ERROR lines, one per process that logged
    tracebacks: how many, and the most frequent."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return _summaries(errors(lines), "error line(s)") + _summaries(
        tracebacks(lines), "traceback(s)"
    )
