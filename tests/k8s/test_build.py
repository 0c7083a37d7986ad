"""Every stage's overlay builds with kubectl's kustomize, into its own Namespace."""

from __future__ import annotations

import pytest

from tests.k8s.rendered import OVERLAYS, render

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


@pytest.mark.parametrize("path", OVERLAYS)
def test_overlay_builds_into_its_own_namespace(path: str) -> None:
    overlay = render(path)
    stage = overlay.stage
    namespaces = overlay.of_kind("Namespace")
    assert [ns["metadata"]["name"] for ns in namespaces] == [f"threefold-{stage}"], (
        f"k8s/{path} must create exactly its own Namespace threefold-{stage}"
    )
    outside = [
        f"{obj['kind']}/{obj['metadata']['name']} in {obj['metadata'].get('namespace')}"
        for obj in overlay.objects
        if obj["kind"] not in CLUSTER_SCOPED
        and obj["metadata"].get("namespace") != f"threefold-{stage}"
    ]
    assert outside == []


def test_the_base_builds_on_its_own() -> None:
    # A Kustomization of its own; the components build only inside a stage (kind: Component).
    base = render("base")
    assert {obj["kind"] for obj in base.objects} == {"NetworkPolicy", "Secret"}
