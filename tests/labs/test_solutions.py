"""Lab 8's solution patches (docs/labs/solutions/): each applies to this checkout on its
own, the tests pass with it applied, and it comes off again, leaving the files as they were.

Each patch is tried in a fresh copy of the checkout (checkout.py), never here. `make test`
runs the quick check, with the patch applied: lint, the unit tests, the migrations' test,
and the contract modules the change crosses (QUICK_CONTRACT, the gift message's own among
them) against the patch's own stage on SQLite.
`make test-solutions` (SOLUTION_TESTS=full) runs the whole suite instead, as `make test`
does, once per patch (the copy is made a git repository, for the labs' own copies).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from stages.launcher import ROOT
from tests.labs.checkout import fresh_checkout

SOLUTIONS = ROOT / "docs" / "labs" / "solutions"
STAGES = ("monolith", "microservices", "functions")
FULL = os.environ.get("SOLUTION_TESTS") == "full"
# seconds one patch's quick check may take (one stage started, the unit tests, lint)
QUICK_TIMEOUT = 420
FULL_TIMEOUT = 3 * 3600
# the contract modules of what the change crosses: placing, reading and notifying an order
# (the gift message's own, its validation among them); the rest of the contract suite is
# make test-solutions' (one stage's whole contract suite took up to 160 s here)
QUICK_CONTRACT = ("test_gift_message", "test_orders")
LAB_8 = "tests/labs/test_labs.py::test_lab_runs_as_its_page_says[08-a-change-through-all-three.md]"
OUTER_VARIABLES = ("PYTEST", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SOLUTION_")


def test_there_is_one_patch_per_stage():
    assert sorted(p.stem for p in SOLUTIONS.glob("*.patch")) == sorted(STAGES)


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_VARIABLES)}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def touched(patch: Path) -> list[str]:
    """The files a patch changes, adds or deletes (git apply --numstat: added, deleted, path)."""
    listed = run(["git", "apply", "--numstat", str(patch)], ROOT, 30)
    assert listed.returncode == 0, listed.stderr
    return [line.split("\t", 2)[2] for line in listed.stdout.splitlines()]


def same_as_checkout(copy: Path, paths: list[str]) -> list[str]:
    """The paths whose content in `copy` differs from the checkout's (or exists in one only)."""
    differ = []
    for name in paths:
        ours, theirs = ROOT / name, copy / name
        if ours.exists() != theirs.exists() or (
            ours.exists() and ours.read_bytes() != theirs.read_bytes()
        ):
            differ.append(name)
    return differ


def suite(stage: str) -> list[list[str]]:
    """What runs with the patch applied: make test's lint, then its pytest (the quick subset,
    or everything)."""
    lint = [[".venv/bin/ruff", "check", "."], [".venv/bin/ruff", "format", "--check", "."]]
    pytest_ = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if FULL:
        # not this module again, nor lab 8's page: it applies a patch to main, and the
        # copy has one applied already
        return [*lint, [*pytest_, "--ignore=tests/labs/test_solutions.py", "--deselect", LAB_8]]
    contract = [f"tests/contract/{name}.py" for name in QUICK_CONTRACT]
    return [
        *lint,
        [*pytest_, "tests/unit", "tests/integration/test_migrations.py"],
        [*pytest_, *contract, "-k", f"{stage} and sqlite"],
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_the_patch_applies_its_tests_pass_and_it_comes_off(stage, tmp_path):
    patch = SOLUTIONS / f"{stage}.patch"
    copy = fresh_checkout(tmp_path / "threefold")
    if FULL:  # the labs' tests copy the checkout with git ls-files: the copy needs a repository
        for command in (["git", "init", "-q"], ["git", "add", "-A"]):
            assert run(command, copy, 120).returncode == 0
    checked = run(["git", "apply", "--check", str(patch)], copy, 30)
    assert checked.returncode == 0, f"{patch.name} does not apply:\n{checked.stderr}"
    assert run(["git", "apply", str(patch)], copy, 30).returncode == 0
    paths = touched(patch)
    assert same_as_checkout(copy, paths) == paths  # applied: every file it names changed

    started = time.monotonic()
    for command in suite(stage):
        result = run(command, copy, FULL_TIMEOUT if FULL else QUICK_TIMEOUT)
        assert result.returncode == 0, (
            f"with {patch.name} applied, `{' '.join(command)}` failed:\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        )
    print(f"{patch.name}: its tests took {time.monotonic() - started:.0f} s", end=" ")

    reverted = run(["git", "apply", "-R", str(patch)], copy, 30)
    assert reverted.returncode == 0, reverted.stderr
    assert same_as_checkout(copy, paths) == [], "reverted, the files differ from the checkout's"
