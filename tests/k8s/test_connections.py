"""The connections every replica can open at its maximum scale fit PostgreSQL's limit.

Per stage (each has its own server), from the rendered manifests alone:

    sum over workloads of  pods at most  x  processes per pod  x  pools per process
                           x  (DB_POOL_SIZE + DB_MAX_OVERFLOW)

- pods at most: an HPA's maxReplicas plus the Deployment's rolling-update surge (both
  sets of pods hold connections during a rollout); a Knative Service's max-scale; a
  Job's parallelism (every Job counted as running at once); else spec.replicas;
- processes per pod: gunicorn's WEB_CONCURRENCY workers (the master opens none),
  uvicorn's --workers (default 1), one otherwise;
- pools per process: one per database URL in the environment (DATABASE_URL,
  <CONTEXT>_DATABASE_URL): shop.persistence.database.Database makes one engine each.

The total must stay below max_connections minus the slots PostgreSQL reserves
(superuser_reserved_connections, reserved_connections), which the StatefulSet sets.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import pytest

from tests.k8s.rendered import STAGES, Container, Overlay, Workload, render

POSTGRES_DEFAULTS = {"superuser_reserved_connections": 3, "reserved_connections": 0}


@dataclass
class Demand:
    workload: str
    pods: int
    processes: int
    pools: int
    per_pool: int

    @property
    def connections(self) -> int:
        return self.pods * self.processes * self.pools * self.per_pool


def server_settings(overlay: Overlay) -> dict[str, int]:
    """The `-c name=value` settings the postgres StatefulSet starts the server with."""
    server = overlay.workload("postgres").containers[0]
    words = server.argv
    settings = dict(POSTGRES_DEFAULTS)
    for flag, value in itertools.pairwise(words):
        if flag == "-c":
            name, _, number = value.partition("=")
            settings[name] = int(number)
    assert "max_connections" in settings, "the postgres server's max_connections is not set"
    return settings


def surge(deployment: dict, replicas: int) -> int:
    rolling = deployment["spec"].get("strategy", {}).get("rollingUpdate", {})
    value = rolling.get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def most_pods(overlay: Overlay, workload: Workload) -> int:
    spec = workload.obj["spec"]
    if workload.is_knative:
        annotations = workload.template.get("metadata", {}).get("annotations", {})
        bound = annotations.get("autoscaling.knative.dev/max-scale")
        assert bound, f"{workload}: no max-scale annotation, so no bound on its connections"
        return int(bound)
    if workload.kind == "Job":
        return spec.get("parallelism", 1)
    for hpa in overlay.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] == workload.kind and target["name"] == workload.name:
            most = hpa["spec"]["maxReplicas"]
            return most + (surge(workload.obj, most) if workload.kind == "Deployment" else 0)
    replicas = spec.get("replicas", 1)
    return replicas + (surge(workload.obj, replicas) if workload.kind == "Deployment" else 0)


def processes_per_pod(container: Container) -> int:
    argv = container.argv
    if "gunicorn" in argv:
        return int(container.env.get("WEB_CONCURRENCY", "2"))  # monolith/gunicorn_conf.py
    if "uvicorn" in argv and "--workers" in argv:
        return int(argv[argv.index("--workers") + 1])
    return 1


def pool_bound(workload: Workload, container: Container) -> int:
    missing = [v for v in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW") if v not in container.env]
    assert not missing, f"{workload}/{container.name} has a database but no {missing}"
    return int(container.env["DB_POOL_SIZE"]) + int(container.env["DB_MAX_OVERFLOW"])


def demands(overlay: Overlay) -> list[Demand]:
    found = []
    for workload in overlay.workloads:
        for container in workload.every_container:
            urls = [u for u in container.database_urls().values() if re.match(r"postgres(ql)?", u)]
            if not urls or workload.name == "postgres":
                continue
            found.append(
                Demand(
                    str(workload),
                    most_pods(overlay, workload),
                    processes_per_pod(container),
                    len(urls),
                    pool_bound(workload, container),
                )
            )
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_all_replicas_at_their_maximum_fit_in_max_connections(stage: str) -> None:
    overlay = render(stage)
    settings = server_settings(overlay)
    usable = (
        settings["max_connections"]
        - settings["superuser_reserved_connections"]
        - settings["reserved_connections"]
    )
    wanted = demands(overlay)
    assert wanted, f"{stage}: no workload connects to PostgreSQL"
    total = sum(d.connections for d in wanted)
    table = "\n".join(
        f"  {d.workload}: {d.pods} pods x {d.processes} processes x {d.pools} pools x "
        f"{d.per_pool} = {d.connections}"
        for d in wanted
    )
    assert total <= usable, (
        f"{stage}: {total} connections at full scale > {usable} usable:\n{table}"
    )


def test_the_budget_counts_workers_pools_surge_and_jobs() -> None:
    """The monolith's figure, worked by hand from its manifests: 8 pods at most plus a
    surge of 1, 2 gunicorn workers each, one pool of 4 + 2; two Jobs of one connection."""
    wanted = {d.workload: d.connections for d in demands(render("monolith"))}
    assert wanted == {
        "Deployment/monolith": (8 + 1) * 2 * 1 * (4 + 2),
        "Job/migrate-shop": 1,
        "Job/seed": 1,
    }
