"""The watchdog process: stop the launcher's process groups once the launcher is gone.

python -m stages.watchdog --grace 10   (started by stages/orphans.py's Watchdog)

It reads `+<group>` (watch) and `-<group>` (forget) lines on its standard input,
a pipe whose write end only the launcher holds. End of input means the launcher
has ended, on purpose or killed: every group still watched gets SIGTERM, and
SIGKILL if any of its processes is still there after the grace period. Only the
standard library, and no call that is not POSIX.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the number now belongs to someone else's group
        return False
    return True


def stop_groups(groups: set[int], grace: float) -> None:
    """SIGTERM each group, then SIGKILL what is left after `grace` seconds."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stages.watchdog")
    parser.add_argument("--grace", type=float, default=10.0)
    args = parser.parse_args(argv)
    # Its own session already keeps a terminal's Ctrl-C away; a stray SIGINT or SIGTERM
    # must not end it either, or the groups would be left unwatched.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("+"):
            groups.add(int(line[1:]))
        elif line.startswith("-"):
            groups.discard(int(line[1:]))
    stop_groups(groups, args.grace)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
