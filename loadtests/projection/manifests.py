"""The autoscaling parameters of a stage, read from its rendered overlay.

`kubectl kustomize k8s/<stage>` renders the overlay exactly as `kubectl apply -k`
sends it, so the projection reads what a cluster would get and cannot drift from
the manifests. For each workload that runs pods:

- a Deployment (or StatefulSet) with its HorizontalPodAutoscaler (autoscaling/v2):
  minReplicas, maxReplicas, the CPU target utilisation, `behavior` (stabilisation
  windows, policies, selectPolicy), the documented defaults for what is left out;
  without an HPA, its fixed `spec.replicas`;
- a Knative Service (serving.knative.dev/v1): the revision template's annotations
  (autoscaling class, metric, target, target utilisation, min-scale, max-scale) and
  `containerConcurrency`; Knative's global defaults for what is left out;
- every workload: its pods' CPU and memory requests and limits (Knative adds a
  queue-proxy sidecar requesting 25m CPU to each pod), and the processes per pod
  (gunicorn's WEB_CONCURRENCY, else one).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from loadtests.projection.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HpaPolicy,
    ScalingPolicy,
    ScalingRules,
)
from loadtests.projection.kpa import (
    CONCURRENCY_TARGET_DEFAULT,
    RPS_TARGET_DEFAULT,
    TARGET_UTILIZATION,
    KpaPolicy,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KNATIVE = "serving.knative.dev/v1"
KPA_CLASS = "kpa.autoscaling.knative.dev"
QUEUE_PROXY_CPU = 0.025  # cores: Knative's default queue-sidecar-cpu-request (25m)
ANNOTATION = "autoscaling.knative.dev/"
# Older annotation spellings Knative still reads beside the current ones.
ALIASES = {
    "min-scale": ("minScale",),
    "max-scale": ("maxScale",),
    "target-utilization-percentage": ("targetUtilizationPercentage",),
}
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}


@dataclass(frozen=True)
class Workload:
    """One workload of a stage, as its manifests say it runs and scales.

    name           -- the workload's name (also the component's name in a local run)
    kind           -- Deployment, StatefulSet or KnativeService
    cpu_request    -- cores one pod requests (Knative: the queue-proxy's 25m included)
    cpu_limit      -- cores one pod may use at most (None: no limit)
    memory_request -- bytes one pod requests
    processes      -- server processes per pod (gunicorn's WEB_CONCURRENCY, else 1)
    autoscaler     -- HpaPolicy, KpaPolicy, or None (fixed replicas)
    replicas       -- the fixed replicas of a workload no autoscaler owns
    """

    name: str
    kind: str
    cpu_request: float
    cpu_limit: float | None
    memory_request: float
    processes: int
    autoscaler: HpaPolicy | KpaPolicy | None
    replicas: int = 1

    @property
    def scaler(self) -> str:
        if isinstance(self.autoscaler, HpaPolicy):
            return "HPA"
        if isinstance(self.autoscaler, KpaPolicy):
            return "KPA"
        return "fixed"


def render(stage: str, root: Path = K8S) -> list[dict]:
    """The objects `kubectl kustomize k8s/<stage>` renders."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not on PATH: the projection renders k8s/<stage> with it")
    done = subprocess.run(
        [kubectl, "kustomize", str(root / stage)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {root / stage} failed:\n{done.stderr}")
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


def cpu_cores(quantity: str | int | float | None) -> float | None:
    """A Kubernetes CPU quantity in cores: "250m" -> 0.25, "1" -> 1.0."""
    if quantity is None:
        return None
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def memory_bytes(quantity: str | int | float | None) -> float:
    """A Kubernetes memory quantity in bytes: "256Mi" -> 268435456."""
    if quantity is None:
        return 0.0
    text = str(quantity)
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _rules(given: dict | None, default: ScalingRules) -> ScalingRules:
    if not given:
        return default
    policies = tuple(
        ScalingPolicy(p["type"], int(p["value"]), int(p["periodSeconds"]))
        for p in given.get("policies", [])
    )
    return ScalingRules(
        int(given.get("stabilizationWindowSeconds", default.stabilization_window_seconds)),
        given.get("selectPolicy", "Max"),
        policies or default.policies,
    )


def hpa_policy(hpa: dict) -> HpaPolicy:
    """An autoscaling/v2 HorizontalPodAutoscaler scaling on CPU utilisation."""
    spec = hpa["spec"]
    cpu = [
        m["resource"]["target"]
        for m in spec.get("metrics", [])
        if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"
    ]
    if len(cpu) != 1 or cpu[0].get("type") != "Utilization":
        raise ValueError(f"HPA {hpa['metadata']['name']}: the projection needs one CPU target")
    behavior = spec.get("behavior", {})
    return HpaPolicy(
        min_replicas=int(spec.get("minReplicas", 1)),
        max_replicas=int(spec["maxReplicas"]),
        target_utilization=float(cpu[0]["averageUtilization"]),
        scale_up=_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
        scale_down=_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
    )


def _annotation(annotations: dict, key: str) -> str | None:
    for name in (key, *ALIASES.get(key, ())):
        if ANNOTATION + name in annotations:
            return annotations[ANNOTATION + name]
    return None


def kpa_policy(template: dict) -> KpaPolicy:
    """A Knative Service's revision template scaled by the KPA."""
    annotations = template.get("metadata", {}).get("annotations", {})
    kind = _annotation(annotations, "class") or KPA_CLASS
    if kind != KPA_CLASS:
        raise ValueError(f"autoscaling class {kind}: the projection knows the KPA only")
    metric = _annotation(annotations, "metric") or "concurrency"
    default_target = CONCURRENCY_TARGET_DEFAULT if metric == "concurrency" else RPS_TARGET_DEFAULT
    target = _annotation(annotations, "target")
    utilization = _annotation(annotations, "target-utilization-percentage")
    return KpaPolicy(
        metric=metric,
        target=float(target) if target is not None else default_target,
        target_utilization=float(utilization) if utilization else TARGET_UTILIZATION,
        container_concurrency=int(template.get("spec", {}).get("containerConcurrency", 0)),
        min_scale=int(_annotation(annotations, "min-scale") or 0),
        max_scale=int(_annotation(annotations, "max-scale") or 0),
    )


def _containers_requests(pod_spec: dict) -> tuple[float, float | None, float, int]:
    cpu, limit, memory, processes = 0.0, 0.0, 0.0, 1
    unlimited = False
    for container in pod_spec.get("containers", []):
        resources = container.get("resources", {})
        cpu += cpu_cores(resources.get("requests", {}).get("cpu")) or 0.0
        memory += memory_bytes(resources.get("requests", {}).get("memory"))
        container_limit = cpu_cores(resources.get("limits", {}).get("cpu"))
        if container_limit is None:
            unlimited = True
        else:
            limit += container_limit
        for variable in container.get("env", []):
            if variable.get("name") == "WEB_CONCURRENCY" and "value" in variable:
                processes = int(variable["value"])
    return cpu, None if unlimited else limit, memory, processes


def workloads(objects: list[dict]) -> list[Workload]:
    """Every Deployment, StatefulSet and Knative Service, with how it scales."""
    hpas = {
        (obj["spec"]["scaleTargetRef"]["kind"], obj["spec"]["scaleTargetRef"]["name"]): obj
        for obj in objects
        if obj["kind"] == "HorizontalPodAutoscaler"
    }
    found = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if obj["apiVersion"] == "apps/v1" and kind in ("Deployment", "StatefulSet"):
            template = obj["spec"]["template"]
            cpu, limit, memory, processes = _containers_requests(template["spec"])
            hpa = hpas.get((kind, name))
            found.append(
                Workload(
                    name,
                    kind,
                    cpu,
                    limit,
                    memory,
                    processes,
                    hpa_policy(hpa) if hpa else None,
                    int(obj["spec"].get("replicas", 1)),
                )
            )
        elif obj["apiVersion"] == KNATIVE and kind == "Service":
            template = obj["spec"]["template"]
            cpu, limit, memory, processes = _containers_requests(template["spec"])
            found.append(
                Workload(
                    name,
                    "KnativeService",
                    cpu + QUEUE_PROXY_CPU,
                    limit,
                    memory,
                    processes,
                    kpa_policy(template),
                )
            )
    return found


def stage_workloads(stage: str) -> list[Workload]:
    """The workloads of k8s/<stage>, as rendered."""
    return workloads(render(stage))
