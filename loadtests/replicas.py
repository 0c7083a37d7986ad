"""Replicas over time in a Kubernetes namespace, and what they cost in core-seconds.

During a load test against a cluster, a sampler asks the Kubernetes API every
few seconds, through the kubernetes Python client:

- each Deployment's ready replicas (apps/v1) and its pods' CPU request;
- each Knative Revision's ready replicas (serving.knative.dev/v1, its
  `status.actualReplicas`) and its containers' CPU request, plus the
  queue-proxy sidecar Knative adds to every pod (25m by default);
- each HorizontalPodAutoscaler's current and desired replicas (autoscaling/v2).

Knative runs each Revision as a Deployment of its own (labelled
`serving.knative.dev/revision`); those are left out, the Revision stands for
them, so no pod is counted twice.

Core-seconds are replicas x CPU request x time, summed over the workloads: a
sample holds until the next one (the last until the test ended), so the
figure is exact to one sampling interval per change of replicas.
"""

from __future__ import annotations

import csv
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

FILE_NAME = "replicas.csv"
KNATIVE_GROUP, KNATIVE_VERSION = "serving.knative.dev", "v1"
KNATIVE_REVISION_LABEL = "serving.knative.dev/revision"
QUEUE_PROXY_CPU = 0.025  # cores: Knative's default queue-sidecar-cpu-request (25m)
WORKLOADS = ("Deployment", "Revision")  # the kinds whose pods cost; HPAs only report


@dataclass(frozen=True)
class Sample:
    """One workload at one moment.

    time         -- seconds since the epoch when the sample was taken
    kind         -- Deployment, Revision or HorizontalPodAutoscaler
    name         -- the object's name
    ready        -- ready replicas (an HPA: its current replicas)
    desired      -- replicas asked for (Deployment spec, Revision or HPA status)
    cpu_request  -- CPU cores requested by one pod (None for an HPA)
    target       -- an HPA's scale target (the Deployment it scales)
    """

    time: float
    kind: str
    name: str
    ready: int
    desired: int | None
    cpu_request: float | None
    target: str = ""


def cpu_cores(quantity: str | None) -> float:
    """A Kubernetes CPU quantity ("250m", "1", "0.5") in cores; none given is 0."""
    if not quantity:
        return 0.0
    from kubernetes.utils import parse_quantity  # the client's own parser

    return float(parse_quantity(quantity))


def _deployment_cpu(containers) -> float:
    """CPU cores one pod of a Deployment requests (V1Container objects of the client)."""
    return sum(
        cpu_cores(((c.resources and c.resources.requests) or {}).get("cpu")) for c in containers
    )


def _revision_cpu(containers: list[dict]) -> float:
    """CPU cores one pod of a Knative Revision requests (plain JSON: a custom object)."""
    return sum(
        cpu_cores(((c.get("resources") or {}).get("requests") or {}).get("cpu")) for c in containers
    )


class ReplicaSampler:
    """Reads the replica counts of one namespace through a kubernetes ApiClient."""

    def __init__(self, namespace: str, api_client, clock: Callable[[], float] = time.time):
        from kubernetes import client

        self.namespace = namespace
        self.clock = clock
        self.apps = client.AppsV1Api(api_client)
        self.autoscaling = client.AutoscalingV2Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.knative = True  # cleared when the cluster has no Knative Serving

    def sample(self) -> list[Sample]:
        now = self.clock()
        return [*self._deployments(now), *self._revisions(now), *self._autoscalers(now)]

    def _deployments(self, now: float) -> list[Sample]:
        found = self.apps.list_namespaced_deployment(self.namespace)
        return [
            Sample(
                time=now,
                kind="Deployment",
                name=item.metadata.name,
                ready=item.status.ready_replicas or 0,
                desired=item.spec.replicas,
                cpu_request=_deployment_cpu(item.spec.template.spec.containers),
            )
            for item in found.items
            if KNATIVE_REVISION_LABEL not in (item.metadata.labels or {})
        ]

    def _revisions(self, now: float) -> list[Sample]:
        if not self.knative:
            return []
        from kubernetes.client.exceptions import ApiException

        try:
            found = self.custom.list_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, self.namespace, "revisions"
            )
        except ApiException as error:
            if error.status == 404:  # no Knative Serving in this cluster: ask no more
                self.knative = False
                return []
            raise
        samples = []
        for item in found.get("items", []):
            status = item.get("status") or {}
            containers = (item.get("spec") or {}).get("containers") or []
            samples.append(
                Sample(
                    time=now,
                    kind="Revision",
                    name=item["metadata"]["name"],
                    ready=int(status.get("actualReplicas") or 0),
                    desired=status.get("desiredReplicas"),
                    cpu_request=_revision_cpu(containers) + QUEUE_PROXY_CPU,
                )
            )
        return samples

    def _autoscalers(self, now: float) -> list[Sample]:
        found = self.autoscaling.list_namespaced_horizontal_pod_autoscaler(self.namespace)
        return [
            Sample(
                time=now,
                kind="HorizontalPodAutoscaler",
                name=item.metadata.name,
                ready=item.status.current_replicas or 0,
                desired=item.status.desired_replicas,
                cpu_request=None,
                target=item.spec.scale_target_ref.name,
            )
            for item in found.items
        ]


def api_client(context: str | None = None):
    """A client for the cluster of the kubeconfig ($KUBECONFIG or ~/.kube/config; its
    current context or the one given), or of the service account inside a pod."""
    from kubernetes import client, config

    if "KUBERNETES_SERVICE_HOST" in os.environ and "KUBECONFIG" not in os.environ:
        config.load_incluster_config()
        return client.ApiClient()
    files = os.environ.get("KUBECONFIG") or "~/.kube/config"  # read now, not at import
    return config.new_client_from_config(config_file=files, context=context)


# --- the timeline file -------------------------------------------------------------------

COLUMNS = [f.name for f in fields(Sample)]


class TimelineWriter:
    """Append samples to replicas.csv as they come, so a run cut short keeps what it saw."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("w", newline="", buffering=1)
        self._csv = csv.DictWriter(self._handle, fieldnames=COLUMNS)
        self._csv.writeheader()

    def write(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            row = asdict(sample)
            row["time"] = f"{sample.time:.3f}"
            self._csv.writerow({k: "" if v is None else v for k, v in row.items()})

    def close(self) -> None:
        self._handle.close()


def read_csv(path: Path) -> list[Sample]:
    with path.open(newline="") as handle:
        return [
            Sample(
                time=float(row["time"]),
                kind=row["kind"],
                name=row["name"],
                ready=int(row["ready"]),
                desired=int(row["desired"]) if row["desired"] else None,
                cpu_request=float(row["cpu_request"]) if row["cpu_request"] else None,
                target=row["target"],
            )
            for row in csv.DictReader(handle)
        ]


class SamplingThread:
    """Take a sample every `interval` seconds in a thread, until stopped (then one last)."""

    def __init__(self, sampler: ReplicaSampler, writer: TimelineWriter, interval: float = 5.0):
        self.sampler = sampler
        self.writer = writer
        self.interval = interval
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _take(self) -> None:
        try:
            self.writer.write(self.sampler.sample())
        except Exception as error:  # noqa: BLE001 - a missed sample must not end the load test
            self.errors.append(f"{type(error).__name__}: {error}")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._take()
        self.writer.close()


# --- what the timeline says --------------------------------------------------------------


def core_seconds_by_workload(
    samples: Iterable[Sample], end: float | None = None
) -> dict[str, float]:
    """Replicas x CPU request x time over the timeline, per Deployment and Revision.

    Each sample holds until the next sample of the same workload; the last one
    until `end` (the end of the test), or adds nothing when no end is given.
    """
    timelines: dict[str, list[Sample]] = {}
    for sample in samples:
        if sample.kind in WORKLOADS:
            timelines.setdefault(f"{sample.kind}/{sample.name}", []).append(sample)
    cost = {}
    for workload, timeline in sorted(timelines.items()):
        timeline.sort(key=lambda s: s.time)
        ends = [s.time for s in timeline[1:]] + [max(end or 0.0, timeline[-1].time)]
        cost[workload] = sum(
            s.ready * (s.cpu_request or 0.0) * (until - s.time)
            for s, until in zip(timeline, ends, strict=True)
        )
    return cost


def core_seconds(samples: Iterable[Sample], end: float | None = None) -> float:
    """The cost of the whole namespace over the test: the sum over its workloads."""
    return sum(core_seconds_by_workload(samples, end).values())


def total_ready(samples: Iterable[Sample]) -> list[tuple[float, int]]:
    """Ready replicas of all Deployments and Revisions together, at each sampling moment."""
    totals: dict[float, int] = {}
    for sample in samples:
        if sample.kind in WORKLOADS:
            totals[sample.time] = totals.get(sample.time, 0) + sample.ready
    return sorted(totals.items())
