"""NetworkPolicies: default deny, then exactly the flows each workload needs.

The policies of an overlay are evaluated as the API defines them (a pod selected by a
policy of a direction is isolated in it; a connection needs the source's egress and the
destination's ingress) for every pair of the stage's pods, the ingress controller, the
cluster DNS and a pod of another namespace. The HTTP calls a stage needs are derived
from the code: the gateway's route table, and the `settings.<peer>_url` each service
reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import pytest

from gateway import routes
from tests.k8s.rendered import OVERLAYS, ROOT, Overlay, render
from tests.k8s.selectors import selects

DATABASE_CLIENT = "threefold.local/database-client"
HTTP = 8080


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str] = field(hash=False)
    namespace_labels: dict[str, str] = field(hash=False)


INGRESS_CONTROLLER = Pod(
    "ingress-nginx",
    "ingress-nginx",
    {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    {"kubernetes.io/metadata.name": "ingress-nginx"},
)
DNS = Pod(
    "kube-dns",
    "kube-system",
    {"k8s-app": "kube-dns"},
    {"kubernetes.io/metadata.name": "kube-system"},
)
OUTSIDER = Pod(
    "outsider", "default", {"app": "outsider"}, {"kubernetes.io/metadata.name": "default"}
)
EXTERNAL = (INGRESS_CONTROLLER, DNS, OUTSIDER)


def pods(overlay: Overlay) -> list[Pod]:
    name = f"threefold-{overlay.stage}"
    namespace = overlay.named("Namespace", name)
    ns_labels = {**namespace["metadata"].get("labels", {}), "kubernetes.io/metadata.name": name}
    return [Pod(w.name, name, w.pod_labels, ns_labels) for w in overlay.workloads]


def _peer_matches(peer: dict, pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # no policy here opens IP ranges; pods are not matched by them
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], pod.namespace_labels)
    else:
        in_namespace = pod.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector", {}), pod.labels)


def _port_matches(rule_ports: list[dict] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        low = entry["port"]
        if isinstance(low, int) and low <= port <= entry.get("endPort", low):
            return True
    return False


def _direction_allows(
    overlay: Overlay, subject: Pod, other: Pod, port: int, protocol: str, direction: str
) -> bool:
    """Whether the policies selecting `subject` let the connection through in `direction`
    ("Ingress": from `other`; "Egress": to `other`)."""
    if subject in EXTERNAL:
        return True  # another namespace's policies are not this overlay's
    selecting = []
    for policy in overlay.of_kind("NetworkPolicy"):
        spec = policy["spec"]
        types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
        namespace = policy["metadata"]["namespace"]
        if (
            direction in types
            and namespace == subject.namespace
            and selects(spec.get("podSelector", {}), subject.labels)
        ):
            selecting.append(policy)
    if not selecting:
        return True  # not isolated in this direction
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(rules_key, []):
            peers = rule.get(peers_key)
            namespace = policy["metadata"]["namespace"]
            if (not peers or any(_peer_matches(p, other, namespace) for p in peers)) and (
                _port_matches(rule.get("ports"), port, protocol)
            ):
                return True
    return False


def allowed(overlay: Overlay, source: Pod, target: Pod, port: int, protocol: str = "TCP") -> bool:
    return _direction_allows(overlay, source, target, port, protocol, "Egress") and (
        _direction_allows(overlay, target, source, port, protocol, "Ingress")
    )


@cache
def peers_called_by(service: str) -> frozenset[str]:
    """The services a microservice calls: the `settings.<peer>_url` its code reads."""
    found = set()
    for path in (ROOT / "microservices" / service).rglob("*.py"):
        found.update(re.findall(r"settings\.(\w+)_url\b", path.read_text()))
    return frozenset(found)


def expected_http_flows(stage: str) -> set[tuple[str, str]]:
    if stage == "monolith":
        return {("ingress-nginx", "monolith")}
    if stage == "microservices":
        services = routes.upstreams(routes.TABLES["microservices"])
        flows = {("ingress-nginx", "gateway")} | {("gateway", s) for s in services}
        return flows | {(s, peer) for s in services for peer in peers_called_by(s)}
    raise AssertionError(f"no expected HTTP flows for {stage}")


def test_the_code_derived_calls_are_the_known_saga_and_stock_calls() -> None:
    """A guard on the derivation itself: if the regex stopped finding calls, the flow test
    below would expect too few."""
    assert peers_called_by("orders") == {"catalog", "inventory", "payments", "notifications"}
    assert peers_called_by("catalog") == {"inventory"}
    assert peers_called_by("payments") == frozenset()


@pytest.mark.parametrize("stage", ["monolith", "microservices"])
def test_exactly_the_needed_http_flows_are_open(stage: str) -> None:
    overlay = render(stage)
    stage_pods = pods(overlay)
    expected = expected_http_flows(stage)
    opened = {
        (source.name, target.name)
        for source in [*stage_pods, INGRESS_CONTROLLER, OUTSIDER]
        for target in stage_pods
        if source != target and allowed(overlay, source, target, HTTP)
    }
    assert opened == expected


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_pod_resolves_names_and_reaches_nothing_else_outside(path: str) -> None:
    overlay = render(path)
    stage_pods = pods(overlay)
    assert stage_pods
    wrong = []
    for pod in stage_pods:
        for protocol in ("UDP", "TCP"):
            if not allowed(overlay, pod, DNS, 53, protocol):
                wrong.append(f"{pod.name}: no DNS over {protocol}")
        for port in (53, 443, HTTP, 5432):
            if allowed(overlay, pod, OUTSIDER, port):
                wrong.append(f"{pod.name} reaches another namespace on {port}")
            if allowed(overlay, OUTSIDER, pod, port):
                wrong.append(f"another namespace reaches {pod.name} on {port}")
    assert wrong == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_exactly_the_database_clients_reach_postgres(path: str) -> None:
    overlay = render(path)
    stage_pods = {pod.name: pod for pod in pods(overlay)}
    server = stage_pods["postgres"]
    wrong = []
    for workload in overlay.workloads:
        if workload.name == "postgres":
            continue
        has_database = any(c.database_urls() for c in workload.every_container)
        labelled = workload.pod_labels.get(DATABASE_CLIENT) == "true"
        if has_database != labelled:
            wrong.append(f"{workload}: database URL {has_database}, {DATABASE_CLIENT} {labelled}")
        if allowed(overlay, stage_pods[workload.name], server, 5432) != has_database:
            wrong.append(f"{workload}: reaches postgres: {not has_database}")
        other_ports = [
            p for p in (HTTP, 5433) if allowed(overlay, stage_pods[workload.name], server, p)
        ]
        if other_ports:
            wrong.append(f"{workload}: reaches postgres on {other_ports}")
    assert wrong == []
    assert not allowed(overlay, INGRESS_CONTROLLER, server, 5432)


@pytest.mark.parametrize("stage", ["monolith", "microservices"])
def test_every_called_peer_is_a_service_that_reaches_the_pods(stage: str) -> None:
    """The URL a caller is given (CATALOG_URL=http://catalog:8080) names a Service of the
    overlay that selects the callee's pods and forwards to the port they listen on."""
    overlay = render(stage)
    wrong = []
    for source, target in expected_http_flows(stage):
        service = overlay.named("Service", target)
        callee = overlay.workload(target)
        if not selects({"matchLabels": service["spec"]["selector"]}, callee.pod_labels):
            wrong.append(f"Service/{target} does not select the {target} pods")
        ports = {p["port"]: p.get("targetPort", p["port"]) for p in service["spec"]["ports"]}
        if callee.containers[0].port_number(ports.get(HTTP)) != HTTP:
            wrong.append(f"Service/{target} does not forward {HTTP} to the container's {HTTP}")
        if source == "ingress-nginx":
            continue
        caller = overlay.workload(source).containers[0]
        variable = f"{target.upper()}_URL"
        if caller.env.get(variable) != f"http://{target}:{HTTP}":
            wrong.append(f"{source}: {variable}={caller.env.get(variable)}")
    assert wrong == []


@pytest.mark.parametrize("stage", ["monolith", "microservices"])
def test_one_public_entrypoint_through_ingress_nginx(stage: str) -> None:
    overlay = render(stage)
    public = "monolith" if stage == "monolith" else "gateway"
    ingresses = overlay.of_kind("Ingress")
    assert len(ingresses) == 1
    spec = ingresses[0]["spec"]
    assert spec["ingressClassName"] == "nginx"
    backends = {
        path["backend"]["service"]["name"]
        for rule in spec["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {public}
    # No other Service is exposed outside the cluster.
    exposed = [
        s["metadata"]["name"]
        for s in overlay.of_kind("Service")
        if s["spec"].get("type", "ClusterIP") not in ("ClusterIP",)
    ]
    assert exposed == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_service_reaches_a_workload_on_a_port_it_listens_on(path: str) -> None:
    overlay = render(path)
    wrong = []
    for service in overlay.of_kind("Service", "v1"):
        name = service["metadata"]["name"]
        selector = {"matchLabels": service["spec"].get("selector", {})}
        backends = [w for w in overlay.core_workloads() if selects(selector, w.pod_labels)]
        if not service["spec"].get("selector") or not backends:
            wrong.append(f"Service/{name} selects no workload")
            continue
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if any(w.containers[0].port_number(target) is None for w in backends):
                wrong.append(f"Service/{name}: no container port {target}")
    assert wrong == []
