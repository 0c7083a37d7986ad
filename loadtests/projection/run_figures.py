"""A StageDemand from a run's folder: Locust's counts and the per-process CPU samples.

A stage's folder (reports/<timestamp>/<stage>/) holds Locust's stats and, from the
resource sampler, resources.csv: one row per process and sample with the columns
time, role, component, pid, cpu_seconds (CPU used since the process started). A
component's CPU over the run is, per process, its last sample minus its first,
summed over its processes; only the stage's rows (role "stage") count, the load
generator's ("locust") and the whole machine's ("host") are left out.
"""

from __future__ import annotations

import csv
from pathlib import Path

from loadtests import results
from loadtests.projection.demand import StageDemand, demand_from_totals
from loadtests.traffic_mix import COUNTED_BY

RESOURCES = "resources.csv"
STAGE_ROLE = "stage"


def cpu_seconds_by_component(path: Path) -> dict[str, float]:
    """Each component's CPU seconds between its first and last sample."""
    first: dict[tuple[str, str], float] = {}
    last: dict[tuple[str, str], float] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("role", STAGE_ROLE) != STAGE_ROLE:
                continue
            key = (row["component"], row["pid"])
            used = float(row["cpu_seconds"])
            first.setdefault(key, used)
            last[key] = used
    totals: dict[str, float] = {}
    for (component, _), used in last.items():
        totals[component] = totals.get(component, 0.0) + used - first[(component, _)]
    return totals


def demand_from_run(folder: Path, cold_start_ms: float | None = None) -> StageDemand:
    """The figures of one stage's run folder (a comparison folder's <stage>/)."""
    run = results.read_stage(folder)
    aggregated = run.aggregated
    if aggregated is None or aggregated.requests == 0 or aggregated.rps <= 0:
        raise ValueError(f"{folder}: no requests in Locust's stats")
    completions = run.orders.requests if run.orders else 0
    requests = aggregated.requests - completions  # "order completion" is no request
    placed = run.entries.get(COUNTED_BY["place_order"])
    duration = aggregated.requests / aggregated.rps  # Locust's rate is over the whole run
    samples = folder / RESOURCES
    if not samples.exists():
        raise ValueError(f"{folder}: no {RESOURCES} (the per-process CPU samples)")
    return demand_from_totals(
        stage=run.stage,
        cpu_seconds=cpu_seconds_by_component(samples),
        requests=requests,
        duration_s=duration,
        orders=placed.requests if placed else None,
        cold_start_ms=cold_start_ms,
        source=str(folder),
    )
