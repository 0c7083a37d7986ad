"""What the platform adds to a container's environment, which no env entry spells out.

Knative Serving gives every revision's container PORT and K_SERVICE, K_CONFIGURATION,
K_REVISION; a SinkBinding gives its subject K_SINK, the address of its sink. Here they
are computed from the render, as the cluster would.
"""

from __future__ import annotations

from typing import Any

from tools.podrun.manifests import Workload

SINK_BINDING = ("sources.knative.dev/v1", "SinkBinding")
# Knative Eventing's multi-tenant broker: every Broker's address is a path on its ingress.
BROKER_INGRESS = "http://broker-ingress.knative-eventing.svc.cluster.local"
# func-python binds LISTEN_ADDRESS (default [::]:8080,0.0.0.0:8080), not PORT: spelled
# out, so that the harness can move the container port (addresses.py).
FUNC_PYTHON_BIND = "[::]:{port},0.0.0.0:{port}"


def _sink(sink: dict[str, Any], namespace: str) -> str:
    ref = sink.get("ref")
    if ref is None:
        return sink["uri"]
    ns = ref.get("namespace", namespace)
    if ref["kind"] == "Broker":
        base = f"{BROKER_INGRESS}/{ns}/{ref['name']}"
    else:  # a Knative Service or a Kubernetes Service: its cluster name
        base = f"http://{ref['name']}.{ns}.svc.cluster.local"
    return base + sink.get("uri", "")


def _subject(subject: dict[str, Any], w: Workload) -> bool:
    kind = "KnativeService" if subject.get("apiVersion", "").startswith("serving.knative") else None
    if (kind or subject.get("kind")) != w.kind:
        return False
    if "name" in subject:
        return subject["name"] == w.name
    labels = subject.get("selector", {}).get("matchLabels", {})
    return bool(labels) and all(w.labels.get(k) == v for k, v in labels.items())


def injected(w: Workload, objects: list[dict[str, Any]]) -> dict[str, str]:
    """The variables the platform sets in w's main container (before its own env)."""
    env: dict[str, str] = {}
    if w.kind == "KnativeService":
        port = w.main.ports[0]
        env |= {
            "PORT": str(port),
            "K_SERVICE": w.name,
            "K_CONFIGURATION": w.name,
            "K_REVISION": f"{w.name}-00001",
            "LISTEN_ADDRESS": FUNC_PYTHON_BIND.format(port=port),
        }
    for obj in objects:
        if (obj.get("apiVersion"), obj.get("kind")) != SINK_BINDING:
            continue
        namespace = obj["metadata"].get("namespace", "default")
        if namespace == w.namespace and _subject(obj["spec"]["subject"], w):
            env["K_SINK"] = _sink(obj["spec"]["sink"], namespace)
    return env
