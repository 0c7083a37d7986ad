"""`make help` lists every target with its description, values filled in and aligned."""

from __future__ import annotations

import re
import subprocess

from stages.launcher import ROOT


def test_make_help_fills_in_values_and_aligns_the_descriptions():
    done = subprocess.run(
        ["make", "-s", "help", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert len(lines) >= 15 and "$(" not in done.stdout, done.stdout
    assert "http://127.0.0.1:8123" in done.stdout
    targets = [re.match(r"  make (\S+)( +)\S", line) for line in lines]
    assert all(targets), done.stdout
    columns = {len(m[1]) + len(m[2]) for m in targets if m}
    assert len(columns) == 1, done.stdout  # every description starts in the same column
    assert {"reset", "test-readme"} <= {m[1] for m in targets if m}


def test_make_load_passes_the_admin_token_to_the_runner():
    done = subprocess.run(
        ["make", "-n", "load", "URL=http://shop.example", "ADMIN_TOKEN=s3cret-token"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    command = " ".join(done.stdout.replace("\\\n", " ").split())
    assert '--url http://shop.example --admin-token "s3cret-token"' in command, done.stdout
