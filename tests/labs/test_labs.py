"""Every lab that runs on one machine, run as its page says, in a fresh copy of the checkout.

Each page's `console lab` blocks run in order in one bash (lab_shell.py), each command
within its block's timeout and the lab within its budget below; every output fragment
the page shows must appear (lab_pages.py). A lab whose commands or output drift fails.
PORT is a free port, not 8000: the pages read it as `$PORT` (`make run-*` does too).
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from stages.launcher import ROOT
from tests.labs.checkout import fresh_checkout
from tests.labs.lab_pages import blocks, missing_fragments
from tests.labs.lab_shell import LabShell

LABS = ROOT / "docs" / "labs"
# seconds each lab may take in all (its measured time here, with room for a busy machine)
BUDGET = {
    "01-the-shop.md": 90,
    "02-splitting-into-services.md": 240,
    "03-when-a-service-fails.md": 150,
    "04-functions-and-events.md": 300,
    "05-compare-under-load.md": 300,
    "06-scaling-projected.md": 60,
    "08-a-change-through-all-three.md": 90,
}


OUTER_VARIABLES = ("PYTEST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_runnable_lab_is_run_here():
    runnable = {p.name for p in LABS.glob("[0-9]*.md") if blocks(p)}
    assert runnable == set(BUDGET)


@pytest.mark.parametrize("page", sorted(BUDGET))
def test_lab_runs_as_its_page_says(page, tmp_path):
    checkout = fresh_checkout(tmp_path / "threefold")
    installed = (ROOT / ".venv" / ".installed").stat().st_mtime_ns
    # as in a reader's terminal: not the variables of pytest or of the make that ran it
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_VARIABLES)}
    shell = LabShell(checkout, env | {"PORT": str(free_port())})
    deadline = time.monotonic() + BUDGET[page]
    try:
        for block in blocks(LABS / page):
            for command in block.commands:
                left = deadline - time.monotonic()
                assert left > 0, f"{page} went over its budget of {BUDGET[page]} s"
                output = shell.run(command.text, timeout=min(block.timeout, left))
                missing = missing_fragments(command.fragments, output)
                assert not missing, (
                    f"{page}, block at line {block.line}: `{command.text}` printed\n{output}\n"
                    f"without {missing}"
                )
    finally:
        left_behind = shell.close()
    assert not left_behind, f"{page} left processes running (killed now): {left_behind}"
    reinstalled = (ROOT / ".venv" / ".installed").stat().st_mtime_ns != installed
    assert not reinstalled, f"{page} made make install the project again, from its copy"
