"""Lab 7 (Kubernetes on kind) is not run here: no cluster. Its commands are checked offline:
every overlay it applies or deletes builds as `kubectl apply -k` builds it, every file it
names exists, and every make target it names is in the Makefile."""

from __future__ import annotations

import re

import pytest

from stages.launcher import ROOT
from tests.k8s.rendered import kustomize

PAGE = ROOT / "docs" / "labs" / "07-kubernetes-on-kind.md"
TEXT = PAGE.read_text()
COMMANDS = [
    line.strip().removeprefix("$ ")
    for block in re.findall(r"```console\n(.*?)```", TEXT, re.DOTALL)
    for line in block.splitlines()
    if line.strip().startswith("$ ")
]
OVERLAYS = sorted(
    {m for c in COMMANDS for m in re.findall(r"kubectl (?:apply|delete) -k (\S+)", c)}
)
LINKS = sorted(set(re.findall(r"\]\(([^)#]+)\)", TEXT)))
TOP = ("k8s/", "docs/", "benchmarks/", "loadtests/", "stages/", "shop/")
NAMED = sorted({p for p in re.findall(r"`([^` ]+)`", TEXT) if p.startswith(TOP)})


def test_the_page_says_it_was_not_run_here():
    assert "Not run on the machine this project is tested on" in TEXT


def test_the_page_applies_every_stage_and_its_load_test():
    stages = {"monolith", "microservices", "functions"}
    assert {f"k8s/{s}" for s in stages} | {f"k8s/loadtest/{s}" for s in stages} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_the_lab_applies_builds(overlay):
    assert "kind: " in kustomize(str(ROOT / overlay))


@pytest.mark.parametrize("link", LINKS)
def test_every_file_the_lab_links_exists(link):
    assert (PAGE.parent / link).resolve().exists(), link


@pytest.mark.parametrize("path", NAMED)
def test_every_file_the_lab_names_exists(path):
    assert (ROOT / path).exists(), path


def test_every_make_target_the_lab_names_exists():
    targets = {m for c in COMMANDS for m in re.findall(r"^make (\S+)", c)}
    targets |= set(re.findall(r"`make ([a-z-]+)`", TEXT))
    makefile = (ROOT / "Makefile").read_text()
    assert targets, "the lab names no make target"
    assert {t for t in targets if not re.search(rf"^{t}:", makefile, re.MULTILINE)} == set()
