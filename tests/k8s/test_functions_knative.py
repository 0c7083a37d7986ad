"""Every Knative object of k8s/functions validates against Knative's own models
(tests/k8s/knative_schemas.py), with no field lost, and needs no feature flag that
Knative turns off by default; the checks themselves are shown to fail on bad input."""

from __future__ import annotations

import copy
from importlib.metadata import version
from typing import Any

import pytest

from tests.k8s.functions_overlay import rendered
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
