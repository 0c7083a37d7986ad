"""A table for the terminal: columns as wide as their widest cell, a rule under the head."""

from __future__ import annotations


def aligned(rows: list[list[str]]) -> list[str]:
    """The head row, a rule of dashes, then the rows: the first column (the labels) left
    aligned, the figures right aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    ruled = [rows[0], ["-" * w for w in widths], *rows[1:]]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in ruled
    ]
