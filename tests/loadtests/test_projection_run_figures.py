"""The projection's figures read back from a run's folder (Locust's stats + resources.csv)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loadtests import results
from loadtests.projection.run_figures import demand_from_run

FIXTURE = Path(__file__).parent / "fixtures" / "comparison" / "monolith"
SAMPLES = """time,role,component,pid,cpu_seconds,rss_bytes
100.0,stage,monolith,11,10.0,1000
100.0,stage,monolith,12,5.0,1000
100.0,locust,locust,13,1.0,1000
100.0,host,host,0,5000.0,1000
146.0,stage,monolith,11,14.096,1000
146.0,stage,monolith,12,7.048,1000
146.0,locust,locust,13,40.0,1000
146.0,host,host,0,5090.0,1000
"""


def test_cpu_per_request_and_the_mix_from_a_run(tmp_path: Path) -> None:
    folder = tmp_path / "monolith"
    shutil.copytree(FIXTURE, folder)
    (folder / "resources.csv").write_text(SAMPLES)
    demand = demand_from_run(folder, cold_start_ms=800)
    aggregated = results.read_stats(folder / "locust_stats.csv")[results.AGGREGATED]
    # 2122 entries, 74 of them "order completion" (no request): 2048 requests, 74 orders.
    assert demand.orders_per_request == pytest.approx(74 / 2048)
    assert demand.measured_rps == pytest.approx(2048 / (2122 / aggregated.rps))
    # (14.096 - 10) + (7.048 - 5) = 6.144 CPU seconds / 2048 requests = 3 ms; Locust's and the
    # whole machine's left out.
    assert set(demand.components) == {"monolith"}
    assert demand.components["monolith"].cpu_ms_per_request == pytest.approx(3.0)
    assert demand.cold_start_ms == 800
    assert demand.source == str(folder)


def test_a_run_without_cpu_samples_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "monolith"
    shutil.copytree(FIXTURE, folder)
    with pytest.raises(ValueError, match=r"resources\.csv"):
        demand_from_run(folder)
