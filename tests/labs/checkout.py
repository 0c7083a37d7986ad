"""A fresh copy of the project's checkout for one lab: the files git knows (committed or
not, ignored ones left out), so a lab starts from no data/ and no reports/, as on a
clean clone. `.venv` is the checkout's own, linked: make finds it installed (copy2 keeps
pyproject.toml's time) and no lab installs anything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stages.launcher import ROOT


def fresh_checkout(destination: Path) -> Path:
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
    return destination
