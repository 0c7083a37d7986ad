"""Read one stage's load test back from Locust's own CSV files (and the files beside them).

A stage's folder holds what `python -m loadtests run` kept:

    locust_stats.csv           one row per entry (endpoint), and the Aggregated row
    locust_stats_history.csv   one row per entry and second (--csv-full-history)
    locust_orders.csv          the order flow's outcomes (written by the locustfile)
    replicas.csv               on Kubernetes: the replica timeline (loadtests.replicas)
    resources.csv              CPU seconds and memory of each process (loadtests.resources)
    run.json                   what was run: stage, url, shape, pacing, times, exit code

No locust import here: the report and the tests read these files in processes
that must not be monkey-patched by gevent.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from loadtests import replicas, resources

PREFIX = "locust"
AGGREGATED = ("", "Aggregated")
ORDER_COMPLETION = ("ORDER", "order completion")
PERCENTILES = ("50%", "95%", "99%")


@dataclass(frozen=True)
class Entry:
    """One row of locust_stats.csv, with the columns the report uses."""

    type: str
    name: str
    requests: int
    failures: int
    rps: float
    failures_per_s: float
    average_ms: float
    max_ms: float
    p50: float
    p95: float
    p99: float

    @property
    def key(self) -> tuple[str, str]:
        return self.type, self.name


@dataclass
class Series:
    """Values over time: seconds since the test started, and the value then (None: no data)."""

    points: list[tuple[float, float | None]] = field(default_factory=list)

    def values(self) -> list[float]:
        return [v for _, v in self.points if v is not None]


@dataclass
class StageResult:
    stage: str
    folder: Path
    run: dict
    entries: dict[tuple[str, str], Entry]
    # history[(type, name)][column] -> Series; columns: users, rps, fps, 50%, 95%, 99%
    history: dict[tuple[str, str], dict[str, Series]]
    order_outcomes: dict[str, int]
    replica_samples: list[replicas.Sample]
    resource_samples: list[resources.ProcessUsage] = field(default_factory=list)

    @property
    def aggregated(self) -> Entry | None:
        return self.entries.get(AGGREGATED)

    @property
    def orders(self) -> Entry | None:
        return self.entries.get(ORDER_COMPLETION)

    def core_seconds(self) -> float | None:
        if not self.replica_samples:
            return None
        return replicas.core_seconds(self.replica_samples, self.run.get("ended_at"))

    def replica_series(self) -> Series | None:
        """Ready replicas of all Deployments and Revisions together, over time."""
        if not self.replica_samples:
            return None
        start = self.run.get("started_at") or self.replica_samples[0].time
        totals = replicas.total_ready(self.replica_samples)
        return Series([(t - start, float(n)) for t, n in totals])


def _number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def read_stats(path: Path) -> dict[tuple[str, str], Entry]:
    entries = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entry = Entry(
                type=row["Type"],
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                failures_per_s=float(row["Failures/s"]),
                average_ms=float(row["Average Response Time"]),
                max_ms=float(row["Max Response Time"]),
                p50=float(row["50%"]) if row["50%"] != "N/A" else 0.0,
                p95=float(row["95%"]) if row["95%"] != "N/A" else 0.0,
                p99=float(row["99%"]) if row["99%"] != "N/A" else 0.0,
            )
            entries[entry.key] = entry
    return entries


def read_history(
    path: Path, origin: float | None = None
) -> dict[tuple[str, str], dict[str, Series]]:
    """Every entry's values per second; times are seconds since `origin` (the start of
    the run, so that the replica timeline lines up), or else since the file's first row.

    A window in which an entry had no request has N/A (or, in Locust's first
    second, all zeros) as percentiles: those points are None, a gap in a chart.
    """
    history: dict[tuple[str, str], dict[str, Series]] = {}
    start = origin
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            stamp = float(row["Timestamp"])
            start = stamp if start is None else start
            columns = history.setdefault((row["Type"], row["Name"]), {})
            empty = _number(row["100%"]) in (None, 0.0)
            values = {
                "users": float(row["User Count"]),
                "rps": float(row["Requests/s"]),
                "fps": float(row["Failures/s"]),
                **{p: None if empty else _number(row[p]) for p in PERCENTILES},
            }
            for column, value in values.items():
                columns.setdefault(column, Series()).points.append((stamp - start, value))
    return history


def read_order_outcomes(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {row["Outcome"]: int(row["Count"]) for row in csv.DictReader(handle)}


def read_stage(folder: Path) -> StageResult:
    """The results kept in one stage's folder (empty when the stage never ran: see run.json)."""
    run = json.loads((folder / "run.json").read_text())
    stats, history = folder / f"{PREFIX}_stats.csv", folder / f"{PREFIX}_stats_history.csv"
    samples_file = folder / replicas.FILE_NAME
    usage_file = folder / resources.FILE_NAME
    return StageResult(
        stage=run["stage"],
        folder=folder,
        run=run,
        entries=read_stats(stats) if stats.exists() else {},
        history=read_history(history, run.get("started_at")) if history.exists() else {},
        order_outcomes=read_order_outcomes(folder / f"{PREFIX}_orders.csv"),
        replica_samples=replicas.read_csv(samples_file) if samples_file.exists() else [],
        resource_samples=resources.read_csv(usage_file) if usage_file.exists() else [],
    )


def read_comparison(folder: Path) -> list[StageResult]:
    """Every stage folder under a comparison folder, in the order they ran."""
    found = [read_stage(run.parent) for run in folder.glob("*/run.json")]
    return sorted(found, key=lambda r: (r.run.get("order", 0), r.stage))
