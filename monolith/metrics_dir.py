"""The folder gunicorn's workers share their Prometheus metrics through.

prometheus_client's multiprocess mode: each worker writes its samples to files in
PROMETHEUS_MULTIPROC_DIR and /metrics in any worker adds up the files of all, so
one scrape counts every worker. The client reads the variable when it is first
imported, so the master sets it before anything imports prometheus_client (and
before forking, so every worker inherits it). Each master gets a fresh folder:
files left by an earlier run would be added to this run's counts. It is removed
when the master exits, never when a worker does (a forked worker inherits the
master's exit handlers).

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


def prepare(env: MutableMapping[str, str] = os.environ) -> Path:
    """Make a fresh folder, name it in `env`, and remove it when this process exits."""
    folder = Path(tempfile.mkdtemp(prefix="threefold-monolith-metrics-"))
    env[MULTIPROCESS_ENV] = str(folder)
    atexit.register(remove, folder, os.getpid())
    return folder


def remove(folder: Path, owner_pid: int) -> bool:
    """Delete `folder` if this process is the one that made it; True if it did."""
    if os.getpid() != owner_pid:
        return False  # a worker leaving: its siblings still write there
    shutil.rmtree(folder, ignore_errors=True)
    return True


def mark_dead(pid: int) -> None:
    """Drop a worker's live-only gauge files once it has exited (gunicorn's child_exit):
    its counters stay counted, its `live*` gauges no longer show."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
