"""A fresh copy of the project's checkout for one lab: the files git knows (committed or
not, ignored ones left out), so a lab starts from no data/ and no reports/, as on a
clean clone. `.venv` is the checkout's own, linked: make must find it installed, never
install the project again from the copy (that would point the editable install at a
temporary folder), so the copy's pyproject.toml is made no newer than the install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from stages.launcher import ROOT


def fresh_checkout(destination: Path) -> Path:
    stamp = ROOT / ".venv" / ".installed"
    assert stamp.exists(), "the labs run with the checkout's .venv: run `make install` first"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is listed too
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")
    older = stamp.stat().st_mtime_ns - 1_000_000_000  # whole nanoseconds: a float rounds up
    os.utime(destination / "pyproject.toml", ns=(older, older))
    return destination
