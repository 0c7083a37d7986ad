"""k8s/observability/<stage>: each stage with the observability component, checked offline.

The component (k8s/components/observability) adds an OpenTelemetry Collector, Jaeger and
Prometheus to a stage's Namespace and points the stage's long-running workloads at them.
The generic checks (schemas, hardening, the Namespace, DNS, postgres) run on these
overlays with the stages' (tests/k8s/rendered.py OVERLAYS); here: the composition changes
nothing else, the endpoint reaches every shop workload and the wiring behind it is
consistent, Prometheus' scrape config yields exactly each shop pod's port 8080, its RBAC
is the least it needs, and the NetworkPolicies open exactly the new flows.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
import yaml

from shop.telemetry.routes import OWN_PATHS
from tests.k8s.rendered import ROOT, STAGES, Overlay, Workload, render
from tests.k8s.selectors import selects
from tests.k8s.test_functions_network import (
    ACTIVATOR,
    AUTOSCALER,
    BROKER_FILTER,
    KOURIER,
    PING_ADAPTER,
)
from tests.k8s.test_network import INGRESS_CONTROLLER, OUTSIDER, Pod, allowed, pods

COMPONENT = ROOT / "k8s" / "components" / "observability"
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
COLLECTOR_URL = "http://otel-collector:4318"
OBSERVED_LABEL = "threefold.local/observed"
MARK = "threefold.local/observability"  # on every object the component adds
DOC = (ROOT / "docs" / "kubernetes.md").read_text()
OWN = {"otel-collector", "jaeger", "prometheus"}  # the component's workloads
METRICS_PORT = 8080  # where every shop process serves GET /metrics (shop/telemetry)
# Knative's queue-proxy, beside the function in every function pod: the ports it declares
# (serving's queue.go: http 8012, https 8112, admin 8022, metrics 9090, profiling 8008,
# user metrics 9091). Prometheus sees them as targets of the pod too.
QUEUE_PROXY_PORTS = (8012, 8112, 8022, 9090, 8008, 9091)
# The ports the flow check tries, between every pair of pods.
PORTS = (4317, 4318, 5432, 8012, 8080, 9090, 13133, 16685, 16686)


def observed(stage: str) -> Overlay:
    return render(f"observability/{stage}")


def shop_workloads(overlay: Overlay) -> list[Workload]:
    """The long-running workloads of the stage itself: what the component must point at
    the Collector (its Deployments and Knative Services; not Jobs, not postgres)."""
    return [
        w
        for w in overlay.workloads
        if w.name not in OWN and (w.is_knative or w.kind == "Deployment")
    ]


def _key(obj: dict) -> tuple[str, str, str]:
    return obj["apiVersion"], obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_component_adds_its_objects_and_changes_only_what_it_must(stage: str) -> None:
    """Everything of the stage is there, unchanged but for the endpoint and the label on
    its long-running workloads; the rest is the component's own."""
    plain = {_key(obj): obj for obj in render(stage).objects}
    overlay = observed(stage)
    with_it = {_key(obj): obj for obj in overlay.objects}
    assert set(plain) <= set(with_it)
    added = {
        (kind, name.rsplit("-", 1)[0] if kind == "ConfigMap" else name)
        for _, kind, name in set(with_it) - set(plain)
    }
    assert added == {
        ("Deployment", "otel-collector"),
        ("Deployment", "jaeger"),
        ("Deployment", "prometheus"),
        ("Service", "otel-collector"),
        ("Service", "jaeger"),
        ("Service", "prometheus"),
        ("ServiceAccount", "otel-collector"),
        ("ServiceAccount", "jaeger"),
        ("ServiceAccount", "prometheus"),
        ("Role", "prometheus-discovery"),
        ("RoleBinding", "prometheus-discovery"),
        ("ConfigMap", "otel-collector-config"),
        ("ConfigMap", "jaeger-config"),
        ("ConfigMap", "prometheus-config"),
        ("NetworkPolicy", "observed-workloads"),
        ("NetworkPolicy", "otel-collector"),
        ("NetworkPolicy", "jaeger"),
        ("NetworkPolicy", "prometheus"),
    }
    # The component's objects, and only those, can be listed and removed by one label.
    marked = {key for key, obj in with_it.items() if obj["metadata"]["labels"].get(MARK) == "true"}
    assert marked == set(with_it) - set(plain)
    patched = {w.name for w in shop_workloads(overlay)}
    wrong = []
    for key, obj in plain.items():
        expected = copy.deepcopy(obj)
        if (
            key[2] in patched
            and key[1] in ("Deployment", "Service")
            and "template" in obj.get("spec", {})
        ):
            template = expected["spec"]["template"]
            template["metadata"]["labels"][OBSERVED_LABEL] = "true"
            template["spec"]["containers"][0]["env"].append(
                {"name": ENDPOINT, "value": COLLECTOR_URL}
            )
        if with_it[key] != expected:
            wrong.append("/".join(key[1:]))
    assert wrong == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_shop_workload_sends_its_spans_to_the_collector(stage: str) -> None:
    overlay = observed(stage)
    shop = shop_workloads(overlay)
    expected = {
        "monolith": {"monolith"},
        "microservices": {"gateway", "catalog", "inventory", "orders", "payments", "notifications"},
        "functions": {"gateway"} | {w.name for w in render("functions").workloads if w.is_knative},
    }[stage]
    assert {w.name for w in shop} == expected
    wrong = [
        f"{w}: {ENDPOINT}={w.containers[0].env.get(ENDPOINT)}"
        for w in shop
        if w.containers[0].env.get(ENDPOINT) != COLLECTOR_URL
        or w.pod_labels.get(OBSERVED_LABEL) != "true"
    ]
    # Nothing else is observed: the Jobs run once, postgres is not the shop's.
    wrong += [
        f"{w}: observed"
        for w in overlay.workloads
        if w not in shop and (ENDPOINT in w.containers[0].env or OBSERVED_LABEL in w.pod_labels)
    ]
    assert wrong == []


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _config(overlay: Overlay, name: str, key: str) -> dict:
    (configmap,) = [
        obj
        for obj in overlay.of_kind("ConfigMap")
        if obj["metadata"]["name"].rsplit("-", 1)[0] == name
    ]
    return yaml.safe_load(configmap["data"][key])


def _service_reaches(overlay: Overlay, service: str, port: int, workload: str) -> int | None:
    """The container port of `workload` that Service `service`'s `port` forwards to (None
    if the Service does not select the workload's pods or has no such port)."""
    spec = overlay.named("Service", service)["spec"]
    target = overlay.workload(workload)
    if not selects({"matchLabels": spec["selector"]}, target.pod_labels):
        return None
    for entry in spec["ports"]:
        if entry["port"] == port:
            return target.containers[0].port_number(entry.get("targetPort", port))
    return None


@pytest.mark.parametrize("stage", STAGES)
def test_the_spans_path_is_wired_end_to_end(stage: str) -> None:
    """shop -> Service otel-collector:4318 -> the Collector's OTLP/HTTP receiver ->
    its exporter jaeger:4317 -> Service jaeger -> Jaeger's OTLP/gRPC receiver; and the
    UIs' ports are the ones the Services (and the walkthrough's port-forward) name."""
    overlay = observed(stage)
    url = urlsplit(COLLECTOR_URL)
    collector = _config(overlay, "otel-collector-config", "config.yaml")
    receiver = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert receiver == f"0.0.0.0:{url.port}"
    assert _service_reaches(overlay, url.hostname, url.port, "otel-collector") == url.port
    (pipeline,) = collector["service"]["pipelines"].values()
    assert pipeline["receivers"] == ["otlp"] and "batch" in pipeline["processors"]
    (exporter,) = pipeline["exporters"]
    host, port = collector["exporters"][exporter]["endpoint"].split(":")
    assert exporter.split("/")[0] == "otlp"  # OTLP over gRPC
    assert _service_reaches(overlay, host, int(port), "jaeger") == int(port)
    jaeger = _config(overlay, "jaeger-config", "config.yaml")
    assert jaeger["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == f"0.0.0.0:{port}"
    assert jaeger["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    storage = jaeger["extensions"]["jaeger_storage"]["backends"]
    assert [backend.keys() for backend in storage.values()] == [{"memory"}]
    ui = _port(jaeger["extensions"]["jaeger_query"]["http"]["endpoint"])
    assert _service_reaches(overlay, "jaeger", 16686, "jaeger") == ui == 16686
    prometheus = overlay.workload("prometheus").containers[0]
    listen = next(a for a in prometheus.argv if a.startswith("--web.listen-address="))
    assert _service_reaches(overlay, "prometheus", 9090, "prometheus") == _port(listen) == 9090


def _sd_targets(pod_labels: dict[str, str], containers: list[tuple[str, list[int]]]) -> list:
    """The meta labels of the targets Prometheus' pod discovery makes for a pod: one per
    declared port of each container (a container without ports: one without a port)."""
    labels = {
        f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v
        for k, v in pod_labels.items()
    }
    labels["__meta_kubernetes_pod_phase"] = "Running"
    labels["__meta_kubernetes_namespace"] = "ns"
    labels["__meta_kubernetes_pod_name"] = "pod"
    targets = []
    for name, ports in containers:
        for port in ports or [None]:
            meta = {**labels, "__meta_kubernetes_pod_container_name": name}
            if port is not None:
                meta["__meta_kubernetes_pod_container_port_number"] = str(port)
            targets.append(meta)
    return targets


def _relabel(meta: dict[str, str], rules: list[dict]) -> dict[str, str] | None:
    """Prometheus' keep, drop and replace relabelling (anchored regexes, ';' joins)."""
    labels = dict(meta)
    for rule in rules:
        value = rule.get("separator", ";").join(labels.get(s, "") for s in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            labels[rule["target_label"]] = match.expand(rule.get("replacement", r"\1"))
    return labels


@pytest.mark.parametrize("stage", STAGES)
def test_prometheus_scrapes_each_shop_pod_on_8080_and_nothing_else(stage: str) -> None:
    overlay = observed(stage)
    config = _config(overlay, "prometheus-config", "prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and "/metrics" in OWN_PATHS
    (discovery,) = job["kubernetes_sd_configs"]
    assert discovery["role"] == "pod"
    assert discovery["namespaces"] == {"own_namespace": True}
    (selector,) = discovery["selectors"]
    key, _, value = selector["label"].partition("=")
    assert (selector["role"], key, value) == ("pod", OBSERVED_LABEL, "true")
    found, wrong = set(), []
    for workload in overlay.workloads:
        if workload.pod_labels.get(key) != value:
            continue  # not listed by the selector
        containers = [
            (c.name, [p["containerPort"] for p in c.spec.get("ports", [])])
            for c in workload.containers
        ]
        if workload.is_knative:
            containers.append(("queue-proxy", list(QUEUE_PROXY_PORTS)))
        for meta in _sd_targets(workload.pod_labels, containers):
            kept = _relabel(meta, job["relabel_configs"])
            if kept is not None:
                found.add(
                    (
                        workload.name,
                        kept["__meta_kubernetes_pod_container_name"],
                        kept.get("__meta_kubernetes_pod_container_port_number"),
                    )
                )
                if kept.get("workload") != workload.name:
                    wrong.append(f"{workload}: labelled workload={kept.get('workload')}")
    expected = {(w.name, w.containers[0].name, str(METRICS_PORT)) for w in shop_workloads(overlay)}
    assert found == expected
    assert wrong == []


def test_the_relabelling_simulation_drops_what_prometheus_would() -> None:
    """A guard on the simulation above: a queue-proxy port 8080, another port, a pod that
    is not running are all dropped."""
    config = _config(observed("functions"), "prometheus-config", "prometheus.yml")
    rules = config["scrape_configs"][0]["relabel_configs"]
    labels = {OBSERVED_LABEL: "true", "app.kubernetes.io/name": "x"}
    (queue,) = _sd_targets(labels, [("queue-proxy", [8080])])
    (other,) = _sd_targets(labels, [("function", [9090])])
    (kept,) = _sd_targets(labels, [("function", [8080])])
    assert _relabel(queue, rules) is None and _relabel(other, rules) is None
    assert _relabel(kept, rules)["workload"] == "x"
    assert _relabel({**kept, "__meta_kubernetes_pod_phase": "Succeeded"}, rules) is None


@pytest.mark.parametrize("stage", STAGES)
def test_prometheus_may_read_the_pods_of_its_namespace_and_nothing_more(stage: str) -> None:
    overlay = observed(stage)
    assert overlay.of_kind("ClusterRole") == [] and overlay.of_kind("ClusterRoleBinding") == []
    (role,) = overlay.of_kind("Role")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]
    (binding,) = overlay.of_kind("RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    namespace = f"threefold-{stage}"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "prometheus", "namespace": namespace}
    ]
    assert overlay.workload("prometheus").pod_spec["serviceAccountName"] == "prometheus"
    for account in overlay.of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False, account["metadata"]["name"]


def _pods(overlay: Overlay) -> list[Pod]:
    """The overlay's pods; a function's carries the label Knative gives it at run time."""
    knative = {w.name for w in overlay.workloads if w.is_knative}
    return [
        replace(pod, labels={**pod.labels, "serving.knative.dev/service": pod.name})
        if pod.name in knative
        else pod
        for pod in pods(overlay)
    ]


def _open_flows(overlay: Overlay) -> set[tuple[str, str, int]]:
    stage_pods = _pods(overlay)
    sources = [*stage_pods, INGRESS_CONTROLLER, OUTSIDER]
    if overlay.stage == "functions":
        sources += [KOURIER, ACTIVATOR, AUTOSCALER, BROKER_FILTER, PING_ADAPTER]
    return {
        (source.name, target.name, port)
        for source in sources
        for target in stage_pods
        for port in PORTS
        if source != target and allowed(overlay, source, target, port)
    }


@pytest.mark.parametrize("stage", STAGES)
def test_exactly_the_observability_flows_are_added(stage: str) -> None:
    """Every flow the stage had stays open, and the component opens exactly: shop pods ->
    Collector 4318, Collector -> Jaeger 4317, Prometheus -> shop pods 8080. Nothing
    reaches Jaeger's or Prometheus' UI through the network (port-forward needs no
    policy)."""
    before = _open_flows(render(stage))
    after = _open_flows(observed(stage))
    shop = {w.name for w in shop_workloads(observed(stage))}
    assert before <= after
    assert after - before == (
        {(name, "otel-collector", 4318) for name in shop}
        | {("otel-collector", "jaeger", 4317)}
        | {("prometheus", name, METRICS_PORT) for name in shop}
    )


@pytest.mark.parametrize("stage", STAGES)
def test_only_prometheus_reaches_outside_the_namespace_and_only_the_api_ports(
    stage: str,
) -> None:
    """The API server is no pod, so an ipBlock opens its ports (443, 6443) to Prometheus;
    no other policy of the overlay opens an address range."""
    overlay = observed(stage)
    blocks = [
        (policy["metadata"]["name"], rule)
        for policy in overlay.of_kind("NetworkPolicy")
        for rule in policy["spec"].get("egress", []) + policy["spec"].get("ingress", [])
        if any("ipBlock" in peer for peer in rule.get("to", []) + rule.get("from", []))
    ]
    assert len(blocks) == 1
    name, rule = blocks[0]
    assert name == "prometheus"
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [
        ("TCP", 443),
        ("TCP", 6443),
    ]
    policy = overlay.named("NetworkPolicy", "prometheus")
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "prometheus"}
    }


@pytest.mark.parametrize("stage", STAGES)
def test_no_ui_is_exposed_outside_the_cluster(stage: str) -> None:
    overlay = observed(stage)
    assert overlay.of_kind("Ingress") == render(stage).of_kind("Ingress")
    for name in OWN:
        service = overlay.named("Service", name)
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_the_component_is_a_component_the_overlays_list() -> None:
    component = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    for stage in STAGES:
        overlay = yaml.safe_load(
            (ROOT / "k8s" / "observability" / stage / "kustomization.yaml").read_text()
        )
        assert overlay["resources"] == [f"../../{stage}"]
        assert overlay["components"] == ["../../components/observability"]
        assert overlay["namespace"] == f"threefold-{stage}"


def _quantity(text: str) -> float:
    """A CPU (cores) or memory (MiB) quantity of the forms the manifests use."""
    if text.endswith("m"):
        return int(text[:-1]) / 1000
    if text.endswith("Mi"):
        return int(text[:-2])
    if text.endswith("Gi"):
        return int(text[:-2]) * 1024
    return float(text)


def test_the_walkthrough_opens_both_uis_and_states_the_component_cost() -> None:
    applied = set(re.findall(r"kubectl apply -k (k8s/observability/\w+)", DOC))
    assert applied == {f"k8s/observability/{stage}" for stage in STAGES}
    assert re.search(r"port-forward service/jaeger 16686:16686", DOC)
    assert re.search(r"port-forward service/prometheus 9090:9090", DOC)
    assert f"-l {MARK}=true" in DOC
    # The cost the section states is the component's requests and limits, summed.
    overlay = observed("monolith")
    totals = {}
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            totals[bound, resource] = sum(
                _quantity(overlay.workload(name).containers[0].spec["resources"][bound][resource])
                for name in OWN
            )
    stated = (
        f"{totals['requests', 'cpu']:g} CPU and {totals['requests', 'memory']:g} MiB requested, "
        f"{totals['limits', 'cpu']:g} CPU and {totals['limits', 'memory']:g} MiB at most"
    )
    assert stated in " ".join(DOC.split()), stated
