"""A killed launcher leaves no process behind: Linux's PR_SET_PDEATHSIG, or a watchdog.

On Linux each child asks the kernel for SIGTERM when the launcher dies
(`prctl(PR_SET_PDEATHSIG)`, set between fork and exec). Elsewhere (macOS), or
with THREEFOLD_NO_PDEATHSIG=1 (how the tests check this path on Linux), one
small watchdog process per launcher (stages/watchdog.py) holds the read end of
a pipe whose write end only the launcher has. The launcher tells it each child's
process group as it starts and ends; when the launcher dies, for whatever
reason, the pipe closes and the watchdog stops every group it still knows.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

DISABLE = "THREEFOLD_NO_PDEATHSIG"
ROOT = Path(__file__).resolve().parent.parent  # where `python -m stages.watchdog` is found


def pdeathsig_in_use() -> bool:
    """True where the kernel call exists and is not switched off."""
    return sys.platform.startswith("linux") and os.environ.get(DISABLE, "") in ("", "0")


def child_setup() -> Callable[[], None] | None:
    """What a child runs before exec (subprocess's preexec_fn): the Linux call, or nothing."""
    return _die_with_parent if pdeathsig_in_use() else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Watchdog:
    """The launcher's side of the watchdog: started at once, told about each process group."""

    def __init__(self, grace: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "stages.watchdog", "--grace", str(grace)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the launcher, not it
            text=True,
        )

    def watch(self, group: int) -> None:
        self._say(f"+{group}")

    def forget(self, group: int) -> None:
        self._say(f"-{group}")

    def close(self) -> None:
        """Nothing is left to watch: let it end (it stops what it still knows, if anything)."""
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _say(self, line: str) -> None:
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # it died: nothing to do but go on
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
