"""Which process is answering: the identity its launcher gave it, for /healthz and /readyz.

The launcher sets THREEFOLD_INSTANCE to a fresh random token for every process it
starts and accepts a readiness answer only if it carries that token, so an answer
from another process that happens to serve the port is never taken for "ready".
"""

from __future__ import annotations

import os

INSTANCE_ENV = "THREEFOLD_INSTANCE"


def this_instance() -> str | None:
    """The token of this process, or None when no launcher gave it one."""
    return os.environ.get(INSTANCE_ENV) or None
