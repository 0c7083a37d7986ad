"""The functions stage's NetworkPolicies, evaluated (tests/k8s/test_network.py's engine)
for the flows Knative makes: every call to a function comes through Kourier or the
activator, events through the broker, and the functions that call out reach exactly
what their code calls. A function's pod here carries the label Knative adds to it at
run time (serving.knative.dev/service), which its template does not have."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.k8s.rendered import render
from tests.k8s.test_functions_wiring import FOLDERS, settings_read
from tests.k8s.test_network import INGRESS_CONTROLLER, OUTSIDER, Pod, allowed, pods


def _knative(name: str, namespace: str, labels: dict[str, str]) -> Pod:
    return Pod(name, namespace, labels, {"kubernetes.io/metadata.name": namespace})


# Knative's components as its manifests label them (k8s/functions/networkpolicies.yaml).
KOURIER = _knative("kourier", "kourier-system", {"app": "3scale-kourier-gateway"})
ACTIVATOR = _knative("activator", "knative-serving", {"app": "activator", "role": "activator"})
AUTOSCALER = _knative("autoscaler", "knative-serving", {"app": "autoscaler"})
WEBHOOK = _knative("webhook", "knative-serving", {"app": "webhook"})
BROKER_FILTER = _knative(
    "mt-broker-filter", "knative-eventing", {"eventing.knative.dev/brokerRole": "filter"}
)
PING_ADAPTER = _knative(
    "pingsource-mt-adapter",
    "knative-eventing",
    {
        "eventing.knative.dev/source": "ping-source-controller",
        "sources.knative.dev/role": "adapter",
    },
)
BROKER_INGRESS = _knative(
    "mt-broker-ingress", "knative-eventing", {"eventing.knative.dev/brokerRole": "ingress"}
)
QUEUE_PROXY = 8012  # Knative's queue-proxy in every function pod: where requests arrive
METRICS = 9090  # queue-proxy's metrics, which the autoscaler reads
CLUSTER_LOCAL = 8081  # Kourier's listener for cluster-local addresses (kourier-internal)
EXTERNAL = 8080  # Kourier's listener for public addresses: no function has one

OVERLAY = render("functions")
PODS = {pod.name: pod for pod in pods(OVERLAY)}
FUNCTIONS = {
    name.replace("_", "-"): replace(
        PODS[name.replace("_", "-")],
        labels={
            **PODS[name.replace("_", "-")].labels,
            "serving.knative.dev/service": name.replace("_", "-"),
        },
    )
    for name in FOLDERS
}
PUBLISHERS = {f.replace("_", "-") for f in FOLDERS if "k_sink" in settings_read(f)}
CALLERS = {f.replace("_", "-") for f in FOLDERS if "catalog_url" in settings_read(f)}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_knative_reaches_the_function_and_nothing_else_does(name):
    pod = FUNCTIONS[name]
    for source in (KOURIER, ACTIVATOR, BROKER_FILTER, PING_ADAPTER):
        assert allowed(OVERLAY, source, pod, QUEUE_PROXY), f"{source.name} -> {name}"
    assert allowed(OVERLAY, AUTOSCALER, pod, METRICS)
    for source in (WEBHOOK, BROKER_INGRESS, AUTOSCALER):
        assert not allowed(OVERLAY, source, pod, QUEUE_PROXY), f"{source.name} -> {name}"
    for source in (OUTSIDER, INGRESS_CONTROLLER, KOURIER):
        assert not allowed(OVERLAY, source, pod, 8080), f"{source.name} -> {name}:8080"
    assert not allowed(OVERLAY, OUTSIDER, pod, QUEUE_PROXY)
    for other in FUNCTIONS.values():
        assert not allowed(OVERLAY, other, pod, QUEUE_PROXY), (
            "functions call each other via Kourier"
        )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_calls_out_exactly_where_its_code_does(name):
    pod = FUNCTIONS[name]
    assert allowed(OVERLAY, pod, BROKER_INGRESS, 8080) == (name in PUBLISHERS)
    assert allowed(OVERLAY, pod, KOURIER, CLUSTER_LOCAL) == (name in CALLERS)
    assert not allowed(OVERLAY, pod, KOURIER, EXTERNAL)
    assert not allowed(OVERLAY, pod, BROKER_FILTER, 8080)
    for port in (443, 8080):
        assert not allowed(OVERLAY, pod, OUTSIDER, port)


def test_the_gateway_is_reached_from_the_ingress_controller_and_calls_through_kourier():
    gateway = PODS["gateway"]
    assert allowed(OVERLAY, INGRESS_CONTROLLER, gateway, 8080)
    assert not allowed(OVERLAY, OUTSIDER, gateway, 8080)
    assert allowed(OVERLAY, gateway, KOURIER, CLUSTER_LOCAL)
    assert not allowed(OVERLAY, gateway, KOURIER, EXTERNAL)
    assert not allowed(OVERLAY, gateway, BROKER_INGRESS, 8080)
    assert not allowed(OVERLAY, gateway, OUTSIDER, 443)
    assert {"place-order", "redrive-orders"} == PUBLISHERS and {"place-order"} == CALLERS
