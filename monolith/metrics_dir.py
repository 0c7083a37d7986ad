"""The folder gunicorn's workers share their Prometheus metrics through.

prometheus_client's multiprocess mode: each worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR and /metrics in any worker adds up the files of all, so
one scrape counts every worker. The client reads the variable when it is first
imported, so the master sets it before anything imports prometheus_client (and
before forking, so every worker inherits it). Each master gets a fresh folder:
files left by an earlier run would be added to this run's counts. It is removed
when the master exits, never when a worker does (a forked worker inherits the
master's exit handlers). A master that was killed (SIGKILL) removes nothing: the next
master removes the folders of masters no longer running.

This module imports no prometheus_client at import time, for the same reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # the client's own name for it
PREFIX = "threefold-monolith-metrics-"  # then the master's pid, then a random part


def prepare(env: MutableMapping[str, str] = os.environ, parent: Path | None = None) -> Path:
    """Make a fresh folder, name it in `env`, and remove it when this process exits."""
    parent = parent or Path(tempfile.gettempdir())
    remove_orphans(parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
    env[MULTIPROCESS_ENV] = str(folder)
    atexit.register(remove, folder, os.getpid())
    return folder


def remove(folder: Path, owner_pid: int) -> bool:
    """Delete `folder` if this process is the one that made it; True if it did."""
    if os.getpid() != owner_pid:
        return False  # a worker leaving: its siblings still write there
    shutil.rmtree(folder, ignore_errors=True)
    return True


def remove_orphans(parent: Path) -> list[Path]:
    """Delete the folders in `parent` left by masters that are no longer running."""
    removed = []
    for folder in parent.glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def mark_dead(pid: int) -> None:
    """Drop a worker's live-only gauge files once it has exited (gunicorn's child_exit):
    its counters stay counted, its `live*` gauges no longer show."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
