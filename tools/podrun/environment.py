"""A container's environment as the kubelet builds it: envFrom, env, valueFrom, $(VAR)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from tools.podrun.manifests import Container, ManifestError, Workload

# $(NAME) refers to a variable defined earlier; $$(NAME) is a literal $(NAME).
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class Sources:
    """The ConfigMaps and Secrets of one namespace of a render, as str -> str maps."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.config_maps: dict[tuple[str, str], dict[str, str]] = {}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        for obj in objects:
            meta = obj.get("metadata", {})
            key = (meta.get("namespace", "default"), meta.get("name", ""))
            if obj.get("apiVersion") == "v1" and obj.get("kind") == "ConfigMap":
                self.config_maps[key] = {k: str(v) for k, v in (obj.get("data") or {}).items()}
            elif obj.get("apiVersion") == "v1" and obj.get("kind") == "Secret":
                data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
                data.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
                self.secrets[key] = data

    def lookup(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        table = self.config_maps if kind == "ConfigMap" else self.secrets
        return table.get((namespace, name))


def expand(text: str, defined: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: a name not defined stays as written."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return defined.get(match.group(1), match.group(0))

    return _REFERENCE.sub(one, text)


_FIELDS = {"metadata.namespace", "metadata.name", "status.podIP", "spec.nodeName"}


def _field(path: str, workload: Workload) -> str:
    if path not in _FIELDS:
        raise ManifestError(f"{workload}: fieldRef {path!r} is not one this harness knows")
    return {
        "metadata.namespace": workload.namespace,
        "metadata.name": f"{workload.name}-0",
        "status.podIP": "127.0.0.1",
        "spec.nodeName": "localhost",
    }[path]


def resolve(
    container: Container,
    workload: Workload,
    sources: Sources,
    platform: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment the container starts with; a missing non-optional source fails.

    platform: what the platform injects (Knative's PORT, a SinkBinding's K_SINK), first.
    """
    env: dict[str, str] = dict(platform or {})
    for item in container.env_from:
        prefix = item.get("prefix", "")
        for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if ref not in item:
                continue
            name = item[ref]["name"]
            data = sources.lookup(kind, workload.namespace, name)
            if data is None:
                if item[ref].get("optional"):
                    continue
                raise ManifestError(f"{workload}: envFrom {kind} {name!r} is not in the render")
            env.update({prefix + k: v for k, v in data.items()})
    for item in container.env:
        name = item["name"]
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
            continue
        source = item.get("valueFrom")
        if not source:
            env[name] = ""  # a name with neither value nor valueFrom: set, empty
        elif "fieldRef" in source:
            env[name] = _field(source["fieldRef"]["fieldPath"], workload)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            kind, wanted = (
                ("ConfigMap", source["configMapKeyRef"])
                if "configMapKeyRef" in source
                else ("Secret", source["secretKeyRef"])
            )
            data = sources.lookup(kind, workload.namespace, wanted["name"]) or {}
            if wanted["key"] in data:
                env[name] = data[wanted["key"]]
            elif not wanted.get("optional"):
                raise ManifestError(
                    f"{workload}: env {name} wants key {wanted['key']!r} of {kind} "
                    f"{wanted['name']!r}, which the render does not have"
                )
        else:
            raise ManifestError(f"{workload}: env {name}: valueFrom {source} is not supported")
    return env


def argv(container: Container, env: Mapping[str, str], image_cmd: list[str]) -> list[str]:
    """The process the container runs: command and args with $(VAR) expanded.

    Our images have no ENTRYPOINT, so args without a command are the whole argv, and
    neither means the image's CMD.
    """
    if container.command is None and container.args is None:
        return list(image_cmd)
    words = [*(container.command or []), *(container.args or [])]
    return [expand(str(w), env) for w in words]
