"""The stages' boundaries, checked on the import graph with import-linter.

The rules are the `[tool.importlinter]` contracts in pyproject.toml: the three stages never
import each other, the shared package and the gateway import no stage, the domain imports no
framework. `lint-imports` is run on the project, and once on a small tree that breaks a rule,
so the check is known to fail when it should.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
STAGES = {"monolith", "microservices", "functions"}


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_the_contracts_state_the_stage_boundaries() -> None:
    independent = [c for c in _contracts() if c["type"] == "independence"]
    assert any(set(c["modules"]) == STAGES for c in independent)
    forbidden = {
        c["source_modules"][0]: set(c["forbidden_modules"])
        for c in _contracts()
        if c["type"] == "forbidden" and len(c["source_modules"]) == 1
    }
    assert STAGES | {"gateway"} <= forbidden["shop"]
    assert forbidden["gateway"] >= STAGES
    assert {"flask", "fastapi", "sqlalchemy"} <= forbidden["shop.domain"]


def test_the_project_keeps_every_import_contract() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_functions_module_importing_the_microservices_breaks_the_rules(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in ["shop", "shop/domain", "gateway", "stages", "loadtests", *STAGES]:
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "microservices" / "service.py").write_text("import shop\n")
    (tmp_path / "functions" / "handler.py").write_text("from microservices import service\n")
    (tmp_path / "gateway" / "app.py").write_text("import functions.handler\n")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    assert "The three stages never import each other BROKEN" in result.stdout
    assert "The gateway, used by two stages, belongs to neither BROKEN" in result.stdout
    assert "functions.handler -> microservices.service" in result.stdout
