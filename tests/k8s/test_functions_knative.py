"""Every Knative object of k8s/functions validates against Knative's own models.

The models (cloudcoil's, generated from Knative's CRD schemas; versions in
functions_overlay.py) are pydantic models that ignore a field they do not know, so
each object is validated, dumped back and compared with what the overlay renders: a
field the round trip loses is one Knative's schema does not have (a typo, a field of
another version) and fails the test. A Knative kind no model covers fails too.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from functools import cache
from itertools import pairwise
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tests.k8s.functions_overlay import (
    KNATIVE_EVENTING_VERSION,
    KNATIVE_SERVING_VERSION,
    knative_models,
    lost_fields,
    rendered,
)

# Fields of a Knative Service the webhook refuses unless a flag of config-features turns
# them on. The models name the flag in the field's description; only the flags that
# Knative Serving 1.17 enables by default may be relied on.
FLAG = re.compile(r"behind a feature flag - (\S+)")
ENABLED_BY_DEFAULT = {"kubernetes.podspec-volumes-emptydir"}

# Fields Knative accepts that the models (Knative's CRD schemas) do not list: each with
# the reason it is kept. Knative's webhook accepts them; whether the API server keeps
# them depends on the CRD's pruning, which could not be tried here (no cluster).
OUTSIDE_THE_MODELS = {
    # Knative Eventing's delivery-timeout feature (Beta, enabled by default): the time
    # each delivery attempt may take. charge-payment's trigger needs 15 s (the provider
    # may be slow), and the local broker applies the same value.
    "/spec/delivery/timeout",
}


def _knative(obj: dict[str, Any]) -> bool:
    return obj["apiVersion"].split("/")[0].endswith("knative.dev")


def validated(obj: dict[str, Any]) -> BaseModel:
    """The object as its Knative model; AssertionError if no model covers its kind, if
    it does not validate, or if a field is lost in the round trip."""
    key = (obj["apiVersion"], obj["kind"])
    model = knative_models().get(key)
    name = f"{obj['kind']} {obj.get('metadata', {}).get('name')}"
    if model is None:
        raise AssertionError(f"{name}: no Knative model covers {key[0]} {key[1]}")
    try:
        instance = model.model_validate(obj)
    except ValidationError as error:
        raise AssertionError(f"{name} does not validate: {error}") from None
    kept = instance.model_dump(by_alias=True, exclude_none=True, mode="json")
    lost = [path for path in lost_fields(obj, kept) if path not in OUTSIDE_THE_MODELS]
    if lost:
        raise AssertionError(f"{name}: fields the Knative schema does not have: {lost}")
    return instance


@cache
def _module_docs(module: str) -> dict[str, dict[str, str]]:
    """Class name -> {field: the docstring under it}, for every class of a module (the
    generated models document their fields so, not in Field(description=...))."""
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    docs: dict[str, dict[str, str]] = {}
    for klass in tree.body:
        if isinstance(klass, ast.ClassDef):
            docs[klass.name] = {
                field.target.id: after.value.value
                for field, after in pairwise(klass.body)
                if isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            }
    return docs


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass.__module__.startswith("cloudcoil.models."):
            docs |= _module_docs(klass.__module__).get(klass.__name__, {})
    return docs


def feature_flags(instance: BaseModel) -> set[str]:
    """The config-features flags the fields set in `instance` need (their docstrings)."""
    flags = set()
    docs = field_docs(type(instance))
    for name in instance.model_fields_set:
        value = getattr(instance, name)
        flags.update(FLAG.findall(docs.get(name, "")))
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                flags |= feature_flags(item)
    return flags


KNATIVE_OBJECTS = [obj for obj in rendered() if _knative(obj)]


def test_the_models_are_the_stated_knative_releases():
    from importlib.metadata import version

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
    import copy

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
