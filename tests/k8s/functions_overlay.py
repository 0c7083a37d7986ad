"""The functions overlay's objects, as `kubectl apply -k k8s/functions` would send them
(tests/k8s/rendered.py renders it), for the functions' own checks."""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.k8s.rendered import ROOT, render

NAMESPACE = "threefold-functions"
__all__ = ["NAMESPACE", "ROOT", "knative_services", "of_kind", "rendered"]


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    """The overlay's objects (rendered once per session, shared with tests/k8s/rendered.py)."""
    return tuple(render("functions").objects)


def of_kind(kind: str, api_group: str | None = None) -> list[dict[str, Any]]:
    return [
        obj
        for obj in rendered()
        if obj["kind"] == kind
        and (api_group is None or obj["apiVersion"].split("/")[0] == api_group)
    ]


def knative_services() -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in of_kind("Service", "serving.knative.dev")}
