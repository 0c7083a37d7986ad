"""Lab 8's solution patches written again against this checkout's HEAD (make lab-solutions).

A patch is a `git diff` against the main it was made on; when main moves under one of the
files it touches, `git apply` may refuse it. This applies each patch of
docs/labs/solutions/ to HEAD with a three-way merge (`git apply -3`, which finds the
patch's original files in the history), in a temporary worktree, generates
shop/openapi.json again there (it is made from the shared schemas the patch changes),
and writes the patch again as the diff of that tree against HEAD.

A patch whose hunks no longer merge is left in its worktree, with git's conflict markers:
resolve them there, `git add` the files, and run `python -m shop.openapi >
shop/openapi.json` and `git diff --cached HEAD > .../<stage>.patch` in it (the printed
commands). Only committed changes count: HEAD, not the work tree, is the base.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from stages.launcher import ROOT

SOLUTIONS = ROOT / "docs" / "labs" / "solutions"
PYTHON = ROOT / ".venv" / "bin" / "python"


def git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def refresh(patch: Path, worktree: Path) -> bool:
    """Write `patch` again against HEAD; False (the worktree kept) if it does not merge."""
    added = git("worktree", "add", "--detach", str(worktree), "HEAD")
    if added.returncode != 0:
        raise SystemExit(added.stderr)
    merged = git("apply", "-3", str(patch), cwd=worktree)
    if merged.returncode != 0:
        print(
            f"{patch.name} does not merge with HEAD:\n{merged.stderr}\n"
            f"resolve the conflicts in {worktree}, then, there:\n"
            f"  git add -A && {PYTHON} -m shop.openapi > shop/openapi.json && git add -A\n"
            f"  git diff --cached HEAD > {patch}\n"
            f"  git worktree remove --force {worktree}  (from {ROOT})",
            file=sys.stderr,
        )
        return False
    # run from the worktree, so that `-m` imports its shop/ (with the patch), not ROOT's
    document = subprocess.run(
        [str(PYTHON), "-m", "shop.openapi"], cwd=worktree, capture_output=True, text=True
    )
    if document.returncode != 0:
        raise SystemExit(f"{patch.name}: shop.openapi failed:\n{document.stderr}")
    (worktree / "shop" / "openapi.json").write_text(document.stdout)
    git("add", "-A", cwd=worktree)
    diff = git("diff", "--cached", "HEAD", cwd=worktree)
    patch.write_text(diff.stdout)
    git("worktree", "remove", "--force", str(worktree))
    print(
        f"{patch.name}: written against HEAD ({git('rev-parse', '--short', 'HEAD').stdout.strip()})"
    )
    return True


def main() -> int:
    patches = sorted(SOLUTIONS.glob("*.patch"))
    folder = Path(tempfile.mkdtemp(prefix="lab-solutions-"))
    failed = [p.name for p in patches if not refresh(p, folder / p.stem)]
    git("worktree", "prune")
    if failed:
        print(f"not merged, left to resolve: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
