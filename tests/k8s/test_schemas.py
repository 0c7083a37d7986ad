"""Every object of every overlay validates against a schema; none passes without one."""

from __future__ import annotations

import pytest

from tests.k8s.rendered import OVERLAYS, render
from tests.k8s.schemas import KUBERNETES_VERSION, validate


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_object_validates(path: str) -> None:
    failures = []
    for obj in render(path).objects:
        try:
            validate(obj)
        except Exception as error:  # a plug-in validator may raise its own errors
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    assert failures == [], f"against Kubernetes {KUBERNETES_VERSION} (strict):\n" + "\n".join(
        failures
    )


def test_an_unknown_field_fails_strict_validation() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {}, "replica": 2},
    }
    with pytest.raises(AssertionError, match="'replica' was unexpected"):
        validate(deployment)


def test_a_field_of_the_wrong_type_fails() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": "eighty"}]},
    }
    with pytest.raises(AssertionError, match=r"spec\.ports\.0\.port"):
        validate(service)


@pytest.mark.parametrize(
    "api_version", ["example.com/v1", "apps/v1"], ids=["unknown group", "unknown kind"]
)
def test_a_kind_no_schema_covers_fails(api_version: str) -> None:
    obj = {"apiVersion": api_version, "kind": "Gadget", "metadata": {"name": "x"}}
    with pytest.raises(AssertionError, match="Gadget"):
        validate(obj)
