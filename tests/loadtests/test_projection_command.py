"""`python -m loadtests project`: tables that say "projected", from the rendered overlays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.__main__ import main


def test_the_table_is_projected_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["project", "--stage", "monolith", "--load", "10x", "--cpu-ms", "monolith=4.2",
         "--rps", "47"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert all(line.startswith("projected") for line in lines), out
    assert "measured" not in out
    row = next(line.split() for line in lines if line.split()[1:3] == ["monolith", "HPA"])
    assert row[3] == "8"  # 1.974 cores need 12 pods: capped at maxReplicas 8
    assert "capped at maxReplicas 8 (needs 12)" in out


def test_a_shape_and_a_json_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figures = tmp_path / "figures.json"
    figures.write_text(
        json.dumps(
            {"stage": "functions", "measured_rps": 40, "cold_start_ms": 900,
             "components": {"gateway": 2.0, "reserve-stock": {"cpu_ms_per_request": 0.2,
                                                              "inflight_ms_per_request": 5}}}
        )
    )  # fmt: skip
    written = tmp_path / "projection.json"
    code = main(
        ["project", "--stage", "functions", "--load", "10x", "--from", str(figures),
         "--shape", "idle-burst", "--json", str(written)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert all(line.startswith("projected") for line in out.splitlines() if line.strip())
    assert "reserve-stock" in out and "cold starts at 150s" in out
    kept = json.loads(written.read_text())
    assert kept["kind"] == "projected"
    assert kept["steady"]["kind"] == "projected"
    assert kept["steady"]["requested_cores"] > 0
    assert kept["timeline"]["shape"] == "idle-burst"
    assert len(kept["timeline"]["rates"]) == 270


def test_cpu_figures_need_the_rate_they_were_measured_at(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["project", "--stage", "monolith", "--cpu-ms", "monolith=4"])
    assert code == 2
    assert "--rps" in capsys.readouterr().err


def test_figures_of_another_stage_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = tmp_path / "figures.json"
    figures.write_text(json.dumps({"stage": "monolith", "measured_rps": 40}))
    code = main(["project", "--stage", "functions", "--from", str(figures)])
    assert code == 2
    assert "monolith" in capsys.readouterr().err


def test_without_kubectl_it_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    code = main(["project", "--stage", "monolith", "--cpu-ms", "monolith=4", "--rps", "47"])
    assert code == 2
    assert "kubectl" in capsys.readouterr().err
