"""What the stage's own log says went wrong: tracebacks per process, with their last line.

A chaos run's verdict comes from the databases; this is a pointer beside it. A process
that answered 500 (say, on a unique key it could have treated as "already done") leaves a
traceback here even when a retry later repaired the outcome.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

TRACEBACK = "Traceback (most recent call last):"
SHOWN = 3  # kinds of exception named per process


def tracebacks(lines: list[str]) -> dict[str, Counter[str]]:
    """{process: Counter(exception line)} from `name | text` lines (the launcher's FileSink)."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    inside: set[str] = set()
    for line in lines:
        name, sep, text = line.partition(" | ")
        if not sep:
            continue
        if text.startswith(TRACEBACK):
            inside.add(name)
        elif name in inside and text and not text.startswith((" ", "\t")):
            inside.discard(name)  # the first line after the frames: the exception itself
            found[name][text[:200]] += 1
    return dict(found)


def error_notes(log: Path) -> list[str]:
    """One line per process that logged a traceback: how many, and of what."""
    if not log.exists():
        return []
    notes = []
    for name, kinds in sorted(tracebacks(log.read_text(errors="replace").splitlines()).items()):
        named = "; ".join(f"{text} (x{n})" for text, n in kinds.most_common(SHOWN))
        notes.append(f"{name} logged {sum(kinds.values())} traceback(s): {named}")
    return notes
