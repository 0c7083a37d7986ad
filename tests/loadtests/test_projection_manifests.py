"""The parameters the projection reads from the rendered overlays are the manifests' own.

Each test parses the source YAML under k8s/ independently (yaml.safe_load_all) and
checks that what the projection read from `kubectl kustomize k8s/<stage>` says the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loadtests.projection.hpa import HpaPolicy
from loadtests.projection.kpa import KpaPolicy
from loadtests.projection.manifests import (
    QUEUE_PROXY_CPU,
    cpu_cores,
    memory_bytes,
    stage_workloads,
    workloads,
)

K8S = Path(__file__).resolve().parents[2] / "k8s"


def source(path: str, kind: str, name: str) -> dict:
    found = [
        obj
        for obj in yaml.safe_load_all((K8S / path).read_text())
        if obj and obj["kind"] == kind and obj["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"{path}: {len(found)} {kind} {name}"
    return found[0]


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict]:
    return {
        s: {w.name: w for w in stage_workloads(s)}
        for s in ("monolith", "microservices", "functions")
    }


def test_the_monolith_hpa_is_the_manifests(rendered: dict) -> None:
    hpa = source("monolith/monolith.yaml", "HorizontalPodAutoscaler", "monolith")["spec"]
    policy = rendered["monolith"]["monolith"].autoscaler
    assert isinstance(policy, HpaPolicy)
    assert policy.min_replicas == hpa["minReplicas"]
    assert policy.max_replicas == hpa["maxReplicas"]
    cpu = hpa["metrics"][0]["resource"]["target"]["averageUtilization"]
    assert policy.target_utilization == cpu
    for direction, rules in (("scaleUp", policy.scale_up), ("scaleDown", policy.scale_down)):
        given = hpa["behavior"][direction]
        assert rules.stabilization_window_seconds == given["stabilizationWindowSeconds"]
        assert rules.select_policy == given["selectPolicy"]
        assert [(p.type, p.value, p.period_seconds) for p in rules.policies] == [
            (p["type"], p["value"], p["periodSeconds"]) for p in given["policies"]
        ]


def test_the_monolith_pod_is_the_manifests(rendered: dict) -> None:
    deployment = source("monolith/monolith.yaml", "Deployment", "monolith")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    workload = rendered["monolith"]["monolith"]
    assert workload.cpu_request == cpu_cores(container["resources"]["requests"]["cpu"])
    assert workload.memory_request == memory_bytes(container["resources"]["requests"]["memory"])
    assert workload.cpu_limit == cpu_cores(container["resources"]["limits"]["cpu"])
    env = {v["name"]: v.get("value") for v in container["env"]}
    assert workload.processes == int(env["WEB_CONCURRENCY"])


@pytest.mark.parametrize(
    "name", ["gateway", "catalog", "inventory", "orders", "payments", "notifications"]
)
def test_each_service_hpa_is_the_manifests(rendered: dict, name: str) -> None:
    hpa = source(f"microservices/{name}.yaml", "HorizontalPodAutoscaler", name)["spec"]
    policy = rendered["microservices"][name].autoscaler
    assert isinstance(policy, HpaPolicy)
    assert (policy.min_replicas, policy.max_replicas) == (hpa["minReplicas"], hpa["maxReplicas"])
    assert (
        policy.target_utilization == hpa["metrics"][0]["resource"]["target"]["averageUtilization"]
    )


FUNCTIONS = sorted(p.stem for p in (K8S / "functions" / "services").glob("*.yaml"))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_kpa_is_the_manifests(rendered: dict, name: str) -> None:
    template = source(f"functions/services/{name}.yaml", "Service", name)["spec"]["template"]
    notes = template["metadata"]["annotations"]
    workload = rendered["functions"][name]
    policy = workload.autoscaler
    assert isinstance(policy, KpaPolicy)
    assert policy.metric == notes["autoscaling.knative.dev/metric"]
    assert policy.target == float(notes["autoscaling.knative.dev/target"])
    assert policy.min_scale == int(notes["autoscaling.knative.dev/min-scale"])
    assert policy.max_scale == int(notes["autoscaling.knative.dev/max-scale"])
    assert policy.container_concurrency == template["spec"]["containerConcurrency"]
    requests = template["spec"]["containers"][0]["resources"]["requests"]
    assert workload.cpu_request == pytest.approx(cpu_cores(requests["cpu"]) + QUEUE_PROXY_CPU)


def test_every_stage_has_its_workloads(rendered: dict) -> None:
    assert set(rendered["monolith"]) == {"monolith", "postgres"}
    assert set(rendered["microservices"]) == {
        "gateway", "catalog", "inventory", "orders", "payments", "notifications", "postgres"
    }  # fmt: skip
    assert set(rendered["functions"]) == {*FUNCTIONS, "gateway", "postgres"}
    assert rendered["monolith"]["postgres"].scaler == "fixed"


@pytest.mark.parametrize(
    ("quantity", "cores"), [("250m", 0.25), ("1", 1.0), (2, 2.0), ("1500m", 1.5)]
)
def test_cpu_quantities(quantity: str, cores: float) -> None:
    assert cpu_cores(quantity) == cores


@pytest.mark.parametrize(
    ("quantity", "size"), [("256Mi", 256 * 2**20), ("1Gi", 2**30), ("500M", 5e8), ("64", 64)]
)
def test_memory_quantities(quantity: str, size: float) -> None:
    assert memory_bytes(quantity) == size


def test_the_documented_defaults_fill_what_a_manifest_leaves_out() -> None:
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ],
        },
    }
    deployment = {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}},
    }
    knative = {
        "kind": "Service",
        "apiVersion": "serving.knative.dev/v1",
        "metadata": {"name": "fn"},
        "spec": {"template": {"spec": {"containers": [{"name": "fn"}]}}},
    }
    found = {w.name: w for w in workloads([deployment, hpa, knative])}
    web = found["web"].autoscaler
    assert isinstance(web, HpaPolicy)
    assert web.min_replicas == 1
    assert web.scale_down.stabilization_window_seconds == 300  # the HPA doc's default
    assert [(p.type, p.value, p.period_seconds) for p in web.scale_up.policies] == [
        ("Percent", 100, 15), ("Pods", 4, 15)
    ]  # fmt: skip
    fn = found["fn"].autoscaler
    assert isinstance(fn, KpaPolicy)
    # Knative's defaults: concurrency target 100, utilisation 70%, min-scale 0, no max.
    assert (fn.metric, fn.target, fn.target_utilization) == ("concurrency", 100.0, 70.0)
    assert (fn.min_scale, fn.max_scale) == (0, 0)
