"""Run a process's entry module with start-up errors in one readable line.

    python -m shop.startup uvicorn --factory microservices.catalog.app:create_app ...
    python -m shop.startup functions.catalog_read

is `python -m MODULE ARGS` with shop.startup_errors around it: a setting out
of its limits or a missing database prints what to do instead of a traceback
(THREEFOLD_DEBUG=1 shows it). The launcher's plans (stages/definitions.py)
start the services, the functions and the broker this way.
"""

from __future__ import annotations

import runpy
import sys

from shop.startup_errors import readable_errors


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m shop.startup MODULE [ARGS...]")
    module, *rest = argv
    sys.argv = [module, *rest]
    with readable_errors():
        runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
