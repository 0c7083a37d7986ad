"""Every rendered object checked against a schema, or failed for want of one.

Kubernetes' own kinds are validated in strict mode (an unknown field is an error)
against the OpenAPI schemas of KUBERNETES_VERSION that the `kubernetes-validate`
package bundles. Any other API group (a CRD: Knative's serving, eventing, sources...)
goes to the validator registered for that group, and a group nobody registered fails:
a kind that no schema covers never passes unchecked.

How another suite adds the validators of its CRDs (the agreement with the functions
helper of issue 10): CUSTOM_VALIDATORS maps an API group to "module:function", a
function that takes the object (a dict) and raises AssertionError naming what is wrong,
or returns when the object is valid. The module is imported when an object of the group
is first validated; if it cannot be found, the group fails as "no schema covers", like
a group with no entry.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from collections.abc import Callable

import jsonschema
import referencing
from kubernetes_validate.utils import SchemaNotFoundError, schema_contents

# The Kubernetes release the manifests are validated against: the kubectl 1.32 line on
# this machine, and what kind's default node image runs (docs/kubernetes.md).
KUBERNETES_VERSION = "1.32.0"
# API groups served by Kubernetes itself (the empty group is the core "v1").
CORE_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
}
# Knative's kinds: validated against Knative's own models, with a round trip that fails
# on a field the models do not have (tests/k8s/test_functions_knative.py).
KNATIVE = "tests.k8s.test_functions_knative:validated"
CUSTOM_VALIDATORS = {
    "serving.knative.dev": KNATIVE,
    "eventing.knative.dev": KNATIVE,
    "sources.knative.dev": KNATIVE,
}

Validator = Callable[[dict], None]


def api_group(obj: dict) -> str:
    api_version = obj["apiVersion"]
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@functools.cache
def _kubernetes_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator:
    # kubernetes-validate's file layout: <kind>-<group's first label>-<version>.json in
    # v<K8S>-local-strict/, with the shared definitions in _definitions.json.
    # (apps/v1 -> apps-v1, networking.k8s.io/v1 -> networking-v1, v1 -> v1)
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{short}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        raise SchemaNotFoundError(kind, KUBERNETES_VERSION, api_version) from None
    definitions = schema_contents(f"{folder}/_definitions.json", KUBERNETES_VERSION)
    # Both carry their $id (https://kubernetes.io/api/...): registered under it.
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_kubernetes(obj: dict) -> None:
    """Strict validation against Kubernetes KUBERNETES_VERSION's schema of the kind."""
    try:
        validator = _kubernetes_validator(obj["kind"], obj["apiVersion"])
    except SchemaNotFoundError as error:
        raise AssertionError(error.message) from None
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        raise AssertionError(
            "; ".join(
                f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
                for error in errors
            )
        )


@functools.cache
def custom_validator(group: str) -> Validator | None:
    """The validator registered for an API group, or None (no entry, or its module is
    not there)."""
    target = CUSTOM_VALIDATORS.get(group)
    if target is None:
        return None
    module, _, function = target.partition(":")
    if importlib.util.find_spec(module) is None:
        return None
    return getattr(importlib.import_module(module), function)


def validate(obj: dict) -> None:
    """Raise AssertionError unless a schema covers the object and it passes."""
    group = api_group(obj)
    if group in CORE_GROUPS:
        validate_kubernetes(obj)
        return
    validator = custom_validator(group)
    if validator is None:
        raise AssertionError(
            f"no schema covers {obj['apiVersion']} {obj['kind']}: register a validator for "
            f"the group {group!r} (tests/k8s/schemas.py, CUSTOM_VALIDATORS)"
        )
    validator(obj)
