"""A lab page's runnable blocks, extracted with Sybil, and how their shown output is checked.

A runnable block is a fenced block whose info string is `console lab` (optionally
`timeout=SECONDS`); a plain `console` block is shown, never run. In a block, a line
starting with `$ ` is a command (a line ending in `\\` continues it); the lines under
it are fragments of what it prints: each must match a line of its real output, in
order, where `...` stands for any text, `~` before a number for any number (the
figures of one run, which vary from run to run) and a run of spaces for any (a table's
columns move with its figures). Lines not shown are not checked.

Sybil (a maintained document tester) does the extraction: its Markdown fenced-block
lexer finds the blocks, with their info strings and positions. The pages are evaluated
by tests/labs/test_labs.py rather than by Sybil's pytest collector, which only sees
files under the collected folders (tests/, not docs/) and makes each block an item of
its own, where a lab needs one shell across its blocks and one time budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Region, Sybil
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

DEFAULT_TIMEOUT = 60.0  # seconds one command may take, unless its block says timeout=
INFO = re.compile(r"console lab(?P<options>[^\n]*)$\n", re.MULTILINE)
NUMBER = r"-?\d[\d,]*(?:\.\d+)?"


@dataclass(frozen=True)
class Command:
    text: str
    fragments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Block:
    commands: tuple[Command, ...]
    timeout: float = DEFAULT_TIMEOUT
    line: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def parse_block(source: str, options: str = "", line: int = 0) -> Block:
    """The commands of one block's text, each with the output fragments shown under it."""
    settings = dict(o.split("=", 1) for o in options.split() if "=" in o)
    commands: list[Command] = []
    text, fragments, continuing = "", [], False
    for raw in source.splitlines():
        if continuing:
            text += "\n" + raw
            continuing = raw.endswith("\\")
        elif raw.startswith("$ "):
            if text:
                commands.append(Command(text, tuple(fragments)))
            text, fragments = raw[2:], []
            continuing = raw.endswith("\\")
        elif raw.strip():
            if not text:
                raise ValueError(f"line {line}: output shown before any command: {raw!r}")
            fragments.append(raw.strip())
    if text:
        commands.append(Command(text, tuple(fragments)))
    timeout = float(settings.pop("timeout", DEFAULT_TIMEOUT))
    return Block(tuple(commands), timeout, line, settings)


def fragment_pattern(fragment: str) -> re.Pattern[str]:
    """`...` any text, `~12.5` any number, everything else literally."""
    parts = re.split(r"(\.\.\.|~" + NUMBER + r"|\s+)", fragment)
    return re.compile("".join(_part_regex(p) for p in parts))


def _part_regex(part: str) -> str:
    if part == "...":
        return ".*"
    if part.startswith("~") and len(part) > 1:
        return NUMBER
    if part and part.isspace():
        return r"\s+"  # a table's columns move with the width of its figures
    return re.escape(part)


def missing_fragments(fragments: Iterable[str], output: str) -> list[str]:
    """The fragments not found, in order, each in a line of `output` (empty: all shown)."""
    lines = output.splitlines()
    at, missing = 0, []
    for fragment in fragments:
        pattern = fragment_pattern(fragment)
        found = next((i for i in range(at, len(lines)) if pattern.search(lines[i])), None)
        if found is None:
            missing.append(fragment)
        else:
            at = found + 1
    return missing


def _regions(document: Document) -> Iterable[Region]:
    lexer = RawFencedCodeBlockLexer(info_pattern=INFO)
    for region in lexer(document):
        line = document.text.count("\n", 0, region.start) + 1
        block = parse_block(region.lexemes["source"], region.lexemes["options"], line)
        yield Region(region.start, region.end, block)


SYBIL = Sybil(parsers=[_regions], patterns=["*.md"])


def blocks(page: Path) -> list[Block]:
    """The page's runnable blocks, in page order."""
    return [example.parsed for example in SYBIL.parse(page)]
