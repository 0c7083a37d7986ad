"""Every Knative object of k8s/functions validates against Knative's own models
(tests/k8s/knative_schemas.py), with no field lost, and needs no feature flag that
Knative turns off by default; the checks themselves are shown to fail on bad input."""

from __future__ import annotations

import copy
from importlib.metadata import version
from typing import Any

import pytest

from tests.k8s.functions_overlay import rendered

# tests/k8s/schemas.py validates the Knative groups with this module's `validated`.
from tests.k8s.knative_schemas import (
    ENABLED_BY_DEFAULT,
    KNATIVE_EVENTING_VERSION,
    KNATIVE_SERVING_VERSION,
    feature_flags,
    validated,
)
from tests.k8s.schemas import validate


def _knative(obj: dict[str, Any]) -> bool:
    return obj["apiVersion"].split("/")[0].endswith("knative.dev")


KNATIVE_OBJECTS = [obj for obj in rendered() if _knative(obj)]


def test_the_models_are_the_stated_knative_releases():
    assert version("cloudcoil-models-knative-serving").startswith(KNATIVE_SERVING_VERSION + ".")
    assert version("cloudcoil-models-knative-eventing").startswith(KNATIVE_EVENTING_VERSION + ".")


def test_the_overlay_has_the_knative_objects_of_the_stage():
    kinds = sorted({(o["apiVersion"], o["kind"]) for o in KNATIVE_OBJECTS})
    assert kinds == [
        ("eventing.knative.dev/v1", "Broker"),
        ("eventing.knative.dev/v1", "Trigger"),
        ("serving.knative.dev/v1", "Service"),
        ("sources.knative.dev/v1", "PingSource"),
        ("sources.knative.dev/v1", "SinkBinding"),
    ]


@pytest.mark.parametrize(
    "obj", KNATIVE_OBJECTS, ids=[f"{o['kind']}/{o['metadata']['name']}" for o in KNATIVE_OBJECTS]
)
def test_every_knative_object_validates_with_no_field_lost(obj):
    validated(obj)


@pytest.mark.parametrize(
    "obj",
    [o for o in KNATIVE_OBJECTS if o["kind"] == "Service"],
    ids=[o["metadata"]["name"] for o in KNATIVE_OBJECTS if o["kind"] == "Service"],
)
def test_no_knative_service_needs_a_feature_flag_that_is_off_by_default(obj):
    assert feature_flags(validated(obj)) <= ENABLED_BY_DEFAULT


# What Knative's webhook refuses beyond the schema (Knative Serving 1.17's defaults:
# config-defaults max-revision-timeout-seconds 600, container-concurrency-max-limit 1000).
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
MAX_TIMEOUT_SECONDS = 600
MAX_CONTAINER_CONCURRENCY = 1000


def webhook_refusals(service: dict[str, Any]) -> list[str]:
    spec = service["spec"]["template"]["spec"]
    wrong = []
    if len(spec["containers"]) != 1:
        wrong.append("one container per function")
    [container] = spec["containers"]
    ports = container.get("ports", [])
    if len(ports) > 1 or any(p.get("name", "http1") not in ("http1", "h2c") for p in ports):
        wrong.append(f"ports {ports}: at most one, named http1 or h2c")
    port = ports[0]["containerPort"] if ports else 8080
    for kind in ("readinessProbe", "livenessProbe"):
        probe_port = container.get(kind, {}).get("httpGet", {}).get("port", port)
        if probe_port not in (port, "http1"):
            wrong.append(f"{kind} on {probe_port}, not the serving port {port}")
    reserved = RESERVED_ENV & {var["name"] for var in container.get("env", [])}
    if reserved:
        wrong.append(f"sets {reserved}, which Knative sets")
    if not 0 <= spec.get("containerConcurrency", 0) <= MAX_CONTAINER_CONCURRENCY:
        wrong.append("containerConcurrency out of range")
    if not 0 < spec.get("timeoutSeconds", 300) <= MAX_TIMEOUT_SECONDS:
        wrong.append("timeoutSeconds out of range")
    return wrong


@pytest.mark.parametrize(
    "obj",
    [o for o in KNATIVE_OBJECTS if o["kind"] == "Service"],
    ids=[o["metadata"]["name"] for o in KNATIVE_OBJECTS if o["kind"] == "Service"],
)
def test_no_knative_service_breaks_a_rule_of_knatives_webhook(obj):
    assert webhook_refusals(obj) == []


# -- the checks themselves can fail ------------------------------------------------------


def _a_service() -> dict[str, Any]:
    return copy.deepcopy(next(o for o in KNATIVE_OBJECTS if o["kind"] == "Service"))


def test_a_field_the_schema_does_not_have_is_caught():
    obj = _a_service()
    obj["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}  # a typo
    with pytest.raises(AssertionError, match=r"/spec/template/spec/containers\[0\]/livenessProbes"):
        validated(obj)


def test_a_value_of_the_wrong_type_is_caught():
    obj = _a_service()
    obj["spec"]["template"]["spec"]["containerConcurrency"] = "many"
    with pytest.raises(AssertionError, match="does not validate"):
        validated(obj)


def test_the_shared_schema_check_uses_these_validators():
    obj = _a_service()
    validate(obj)
    obj["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(AssertionError, match="livenessProbes"):
        validate(obj)


def test_the_webhook_rules_catch_what_they_should():
    obj = _a_service()
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "PORT", "value": "9000"})
    container["readinessProbe"]["httpGet"]["port"] = 9000
    obj["spec"]["template"]["spec"]["timeoutSeconds"] = 3600
    assert len(webhook_refusals(obj)) == 3


def test_a_kind_no_model_covers_fails():
    obj = {
        "apiVersion": "messaging.knative.dev/v1",
        "kind": "InMemoryChannel",
        "metadata": {"name": "x"},
    }
    with pytest.raises(AssertionError, match="no Knative model covers"):
        validated(obj)
    obj = {"apiVersion": "serving.knative.dev/v2", "kind": "Service", "metadata": {"name": "x"}}
    with pytest.raises(AssertionError, match="no Knative model covers"):
        validated(obj)


def test_a_field_behind_a_feature_flag_is_caught():
    obj = _a_service()
    obj["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    assert "kubernetes.podspec-securitycontext" in feature_flags(validated(obj))
    obj = _a_service()
    obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = [
        "NET_BIND_SERVICE"
    ]
    assert "kubernetes.containerspec-addcapabilities" in feature_flags(validated(obj))
