"""The functions overlay rendered as `kubectl apply -k k8s/functions` would send it,
and the Knative models it is validated against.

Rendering uses `kubectl kustomize` (kubectl 1.32, kustomize v5.5 on this machine): a
missing kubectl is a failure that says so, never a skip.

The Knative models are the pydantic models of cloudcoil's packages, generated from
Knative's own CRD schemas: cloudcoil-models-knative-serving 1.17.0.1 (Knative Serving
v1.17.0) and cloudcoil-models-knative-eventing 1.17.1.1 (Knative Eventing v1.17.1), the
newest releases of those packages that support Python 3.11.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "k8s" / "functions"
NAMESPACE = "threefold-functions"
KNATIVE_SERVING_VERSION = "1.17.0"
KNATIVE_EVENTING_VERSION = "1.17.1"


def render(overlay: Path = OVERLAY) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize <overlay>` renders."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise AssertionError(
            "kubectl is not installed: the k8s checks render every overlay with "
            "`kubectl kustomize` (install kubectl 1.32, which bundles kustomize v5.5)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    return tuple(render())


def of_kind(kind: str, api_group: str | None = None) -> list[dict[str, Any]]:
    return [
        obj
        for obj in rendered()
        if obj["kind"] == kind
        and (api_group is None or obj["apiVersion"].split("/")[0] == api_group)
    ]


def knative_services() -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in of_kind("Service", "serving.knative.dev")}


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
