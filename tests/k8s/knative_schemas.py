"""Knative's schemas for tests/k8s: every Knative object validated against Knative's own
models (`validated` is what tests/k8s/schemas.py calls for the Knative API groups).

The models are the pydantic models of cloudcoil's packages, generated from Knative's
CRD schemas: cloudcoil-models-knative-serving 1.17.0.1 (Knative Serving v1.17.0) and
cloudcoil-models-knative-eventing 1.17.1.1 (Knative Eventing v1.17.1), the newest
releases of those packages that support Python 3.11. Such a model ignores a field it
does not know, so each object is validated, dumped back and compared with what the
overlay renders: a field the round trip loses is one Knative's schema does not have (a
typo, a field of another version) and fails. A Knative kind no model covers fails too.

docs/kubernetes.md installs the newer knative-v1.23.0 line, for which no such package
runs on Python 3.11. What the manifests rely on beyond the models was read in the
sources of both lines and is the same: emptyDir volumes enabled and the pod's
securityContext disabled by default (Serving's config-features), queue-proxy running
restricted, spec.delivery keeping unknown fields for `timeout` (Eventing's Broker and
Trigger CRDs, read up to knative-v1.22.2), Kourier's cluster-local port 8081.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import warnings
from functools import cache
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ValidationError

KNATIVE_SERVING_VERSION = "1.17.0"
KNATIVE_EVENTING_VERSION = "1.17.1"


@cache
def knative_models() -> dict[tuple[str, str], type[BaseModel]]:
    """(apiVersion, kind) -> the model of every Knative kind this stage may use."""
    with warnings.catch_warnings():
        # The eventing package's generated models warn on import about shadowed names.
        warnings.simplefilter("ignore", UserWarning)
        from cloudcoil.models.knative_eventing.eventing import v1 as eventing
        from cloudcoil.models.knative_eventing.sources import v1 as sources
        from cloudcoil.models.knative_serving.serving import v1 as serving

    models = [
        serving.Service,
        serving.Configuration,
        serving.Route,
        serving.Revision,
        eventing.Broker,
        eventing.Trigger,
        sources.PingSource,
        sources.SinkBinding,
        sources.ApiServerSource,
        sources.ContainerSource,
    ]
    return {
        (model.model_fields["api_version"].default, model.model_fields["kind"].default): model
        for model in models
    }


def lost_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """The paths of `given` that `kept` (its round trip through a model) does not hold as
    given. A field the model does not know is dropped by it, so it shows here; defaults
    the model adds are not losses."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "/"]
        lost = []
        for key, value in given.items():
            where = f"{path}/{key}"
            lost += [where] if key not in kept else lost_fields(value, kept[key], where)
        return lost
    if isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            return [path]
        return [
            p for i, item in enumerate(given) for p in lost_fields(item, kept[i], f"{path}[{i}]")
        ]
    return [] if given == kept else [path]


# Fields of a Knative Service the webhook refuses unless a flag of config-features turns
# them on. The models name the flag in the field's docstring; only the flags that Knative
# Serving 1.17 enables by default may be relied on (config/core/configmaps/features.yaml
# of knative-v1.17.0: emptyDir volumes "enabled", the pod's securityContext and the rest
# "disabled").
FLAG = re.compile(r"behind a feature flag - (\S+)")
ENABLED_BY_DEFAULT = {"kubernetes.podspec-volumes-emptydir"}

# Fields Knative accepts that the models do not list, each with the reason it is kept.
# Knative Eventing v1.17.1's CRDs (config/core/resources/broker.yaml and trigger.yaml)
# give spec.delivery its typed properties plus x-kubernetes-preserve-unknown-fields,
# "necessary to enable the experimental feature delivery-timeout": the API server keeps
# `timeout`, the webhook accepts it (the feature is Beta, enabled by default), but the
# models, generated from the typed properties, do not have it.
OUTSIDE_THE_MODELS = {
    # The time each delivery attempt may take: charge-payment's trigger needs 15 s (the
    # provider may be slow), and the local broker applies the same value.
    "/spec/delivery/timeout",
}


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
