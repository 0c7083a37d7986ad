"""Monolith, services and gateway scale on CPU with an explicit behaviour, and a node
drain can never take all of a Deployment's pods (or be blocked by its budget)."""

from __future__ import annotations

import pytest

from tests.k8s.rendered import STAGES, Overlay, Workload, render
from tests.k8s.selectors import selects


def autoscaler_of(overlay: Overlay, deployment: Workload) -> dict | None:
    for hpa in overlay.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] == "Deployment" and target["name"] == deployment.name:
            return hpa
    return None


def deployments(stage: str) -> list[Workload]:
    return [w for w in render(stage).core_workloads() if w.kind == "Deployment"]


@pytest.mark.parametrize("stage", ["monolith", "microservices"])
def test_the_stage_has_deployments(stage: str) -> None:
    names = {w.name for w in deployments(stage)}
    expected = (
        {"monolith"}
        if stage == "monolith"
        else {"gateway", "catalog", "inventory", "orders", "payments", "notifications"}
    )
    assert names == expected


@pytest.mark.parametrize("stage", STAGES)
def test_every_deployment_scales_on_cpu_with_an_explicit_behaviour(stage: str) -> None:
    overlay = render(stage)
    wrong = []
    for deployment in deployments(stage):
        hpa = autoscaler_of(overlay, deployment)
        if hpa is None:
            wrong.append(f"{deployment}: no HorizontalPodAutoscaler")
            continue
        spec = hpa["spec"]
        if hpa["apiVersion"] != "autoscaling/v2":
            wrong.append(f"{deployment}: HPA {hpa['apiVersion']}, not autoscaling/v2")
        cpu = [
            m
            for m in spec.get("metrics", [])
            if m["type"] == "Resource" and m["resource"]["name"] == "cpu"
        ]
        if not cpu or cpu[0]["resource"]["target"].get("type") != "Utilization":
            wrong.append(f"{deployment}: no CPU utilization target")
        behavior = spec.get("behavior", {})
        for direction in ("scaleUp", "scaleDown"):
            rules = behavior.get(direction, {})
            if not rules.get("policies") or "stabilizationWindowSeconds" not in rules:
                wrong.append(f"{deployment}: behavior.{direction} not spelled out")
        if not 1 <= spec.get("minReplicas", 1) < spec["maxReplicas"]:
            wrong.append(f"{deployment}: replicas {spec.get('minReplicas')}..{spec['maxReplicas']}")
        if "replicas" in deployment.obj["spec"]:
            wrong.append(f"{deployment}: sets spec.replicas, which the HPA owns")
    assert wrong == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_deployment_has_a_disruption_budget_that_lets_a_drain_through(stage: str) -> None:
    overlay = render(stage)
    wrong = []
    for deployment in deployments(stage):
        budgets = [
            pdb
            for pdb in overlay.of_kind("PodDisruptionBudget")
            if selects(pdb["spec"]["selector"], deployment.pod_labels)
        ]
        if len(budgets) != 1:
            wrong.append(f"{deployment}: {len(budgets)} PodDisruptionBudgets")
            continue
        spec = budgets[0]["spec"]
        hpa = autoscaler_of(overlay, deployment) or {"spec": {}}
        least = hpa["spec"].get("minReplicas", 1)
        if "minAvailable" in spec:
            # At least one pod stays, and a drain can still evict one at the minimum scale.
            if not 1 <= spec["minAvailable"] < least:
                wrong.append(f"{deployment}: minAvailable {spec['minAvailable']} of {least}")
        elif spec.get("maxUnavailable") != 1 or least < 2:
            wrong.append(f"{deployment}: a budget of {spec} at {least} replicas")
    assert wrong == []


def test_the_hot_path_of_the_microservices_may_grow_most() -> None:
    """Microservices scale the service that is hot: the catalog (every browse, search and
    view) and the gateway (every call) may grow furthest, payments and notifications
    (one call per order) least."""
    overlay = render("microservices")
    most = {
        w.name: autoscaler_of(overlay, w)["spec"]["maxReplicas"]
        for w in deployments("microservices")
    }
    assert most["catalog"] == most["gateway"] == max(most.values())
    assert most["payments"] == most["notifications"] == min(most.values())
