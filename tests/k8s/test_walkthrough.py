"""docs/kubernetes.md stays runnable: what it applies, makes and names exists here.

The walkthrough's cluster steps cannot run on the development machine; these checks
keep its commands pointed at the overlays, make targets, Namespaces and kind config
the repository really has.
"""

from __future__ import annotations

import re

import yaml

from tests.k8s.rendered import K8S, ROOT

DOC = (ROOT / "docs" / "kubernetes.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_every_overlay_the_walkthrough_applies_exists() -> None:
    applied = set(re.findall(r"kubectl (?:apply|delete) -k (k8s/[\w/-]+)", DOC))
    assert {"k8s/monolith", "k8s/microservices", "k8s/functions"} <= applied
    assert {f"k8s/loadtest/{s}" for s in ("monolith", "microservices", "functions")} <= applied
    missing = [path for path in applied if not (ROOT / path / "kustomization.yaml").is_file()]
    assert missing == []


def test_every_make_target_and_namespace_it_names_exists() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", DOC))
    assert {"images", "kind-load", "fetch-cluster", "compare-cluster", "compare"} <= named
    assert sorted(named - targets) == []
    namespaces = set(re.findall(r"\b(threefold-[a-z]+)\b", DOC))
    declared = set(re.findall(r"^namespace: (threefold-[a-z]+)$", _overlay_files(), flags=re.M))
    assert namespaces == declared


def _overlay_files() -> str:
    return "\n".join(p.read_text() for p in K8S.glob("**/kustomization.yaml"))


def test_the_kind_cluster_is_ingress_ready_on_ports_80_and_443_with_a_pinned_node() -> None:
    config = yaml.safe_load((ROOT / "docs" / "kind-cluster.yaml").read_text())
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    (node,) = config["nodes"]
    assert node["labels"] == {"ingress-ready": "true"}  # ingress-nginx's kind manifest
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {
        (80, 80),
        (443, 443),
    }
    assert re.fullmatch(r"kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}", node["image"])
    assert node["image"].split("@")[0].removeprefix("kindest/node:v") in DOC
