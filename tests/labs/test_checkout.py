"""The labs' copy of the checkout: what a clean clone has, and the checkout's .venv as
installed (make must not install the project again from a temporary copy)."""

from __future__ import annotations

import subprocess

from tests.labs.checkout import fresh_checkout


def test_the_copy_has_the_project_without_local_data_and_make_finds_it_installed(tmp_path):
    copy = fresh_checkout(tmp_path / "threefold")
    assert (copy / "Makefile").is_file() and (copy / "docs" / "labs" / "README.md").is_file()
    assert not (copy / "data").exists() and not (copy / "reports").exists()
    # `make -q` exits 0 only if the target is up to date: the install stamp must be
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed"], cwd=copy, check=False)
    assert up_to_date.returncode == 0
