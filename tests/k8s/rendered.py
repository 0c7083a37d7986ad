"""The overlays as `kubectl apply -k` would send them: built once per test session.

`render(path)` runs `kubectl kustomize k8s/<path>` (kubectl's built-in kustomize, as
`kubectl apply -k` does) and keeps the objects, so every test of tests/k8s reads the
same rendering and kubectl runs once per overlay. A missing kubectl is a failure with
a clear message, never a skip: the offline proof must not pass by leaving itself out.
"""

from __future__ import annotations

import base64
import functools
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
# The stages, each an overlay applied alone into its own Namespace.
STAGES = ("monolith", "microservices", "functions")
# Each stage with the observability component (k8s/observability/<stage>): the same
# Namespace, the same checks, plus the Collector, Jaeger and Prometheus.
OBSERVED = tuple(f"observability/{stage}" for stage in STAGES)
OVERLAYS = (*STAGES, *OBSERVED)
# Kinds whose objects hold a pod template, and where it sits.
POD_TEMPLATE_PATHS = {
    ("apps/v1", "Deployment"): ("spec", "template"),
    ("apps/v1", "StatefulSet"): ("spec", "template"),
    ("apps/v1", "DaemonSet"): ("spec", "template"),
    ("batch/v1", "Job"): ("spec", "template"),
    ("batch/v1", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("serving.knative.dev/v1", "Service"): ("spec", "template"),
}
VARIABLE_REFERENCE = re.compile(r"\$\((\w+)\)")  # the kubelet's $(VAR) in command, args, env


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise AssertionError(
            "kubectl is not on PATH: tests/k8s builds every overlay with `kubectl kustomize` "
            "(kubectl 1.32 or newer, with its built-in kustomize v5). Install kubectl and run "
            "`make k8s-check` again."
        )
    return found


@functools.cache
def kustomize(directory: str) -> str:
    """The YAML `kubectl kustomize DIRECTORY` prints (raises with kubectl's message)."""
    result = subprocess.run(
        [kubectl(), "kustomize", directory], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return result.stdout


@functools.cache
def render(path: str) -> Overlay:
    """The overlay k8s/<path>; its `stage` is the folder's name (observability/monolith
    is the monolith stage, in threefold-monolith)."""
    objects = [doc for doc in yaml.safe_load_all(kustomize(str(K8S / path))) if doc]
    return Overlay(Path(path).name, objects)


@dataclass
class Container:
    spec: dict
    env: dict[str, str]  # as the kubelet resolves it (ConfigMaps, Secrets, $(VAR))

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def argv(self) -> list[str]:
        """command + args, with $(VAR) expanded as the kubelet does."""
        words = [*self.spec.get("command", []), *self.spec.get("args", [])]
        return [expand(word, self.env) for word in words]

    def port_number(self, port: int | str) -> int | None:
        if isinstance(port, int):
            return port
        for declared in self.spec.get("ports", []):
            if declared.get("name") == port:
                return declared["containerPort"]
        return None

    def database_urls(self) -> dict[str, str]:
        """The database URLs this container gets: DATABASE_URL, <CONTEXT>_DATABASE_URL."""
        return {
            name: value
            for name, value in self.env.items()
            if name == "DATABASE_URL" or name.endswith("_DATABASE_URL")
        }


@dataclass
class Workload:
    """An object that runs pods: its kind, name, pod template and containers."""

    obj: dict
    template: dict
    containers: list[Container] = field(default_factory=list)
    init_containers: list[Container] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    @property
    def is_knative(self) -> bool:
        return self.obj["apiVersion"].startswith("serving.knative.dev/")

    @property
    def pod_spec(self) -> dict:
        return self.template.get("spec", {})

    @property
    def pod_labels(self) -> dict[str, str]:
        return self.template.get("metadata", {}).get("labels", {})

    @property
    def every_container(self) -> list[Container]:
        return [*self.init_containers, *self.containers]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Overlay:
    stage: str
    objects: list[dict]

    def of_kind(self, kind: str, api_version: str | None = None) -> list[dict]:
        return [
            obj
            for obj in self.objects
            if obj["kind"] == kind and (api_version is None or obj["apiVersion"] == api_version)
        ]

    def named(self, kind: str, name: str) -> dict:
        found = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        if len(found) != 1:
            raise AssertionError(f"{self.stage}: {len(found)} {kind} named {name!r}")
        return found[0]

    def config_data(self, kind: str, name: str) -> dict[str, str]:
        """A ConfigMap's or Secret's data as text (a Secret's base64 decoded)."""
        obj = self.named(kind, name)
        data = dict(obj.get("stringData", {}))
        for key, value in obj.get("data", {}).items():
            data[key] = base64.b64decode(value).decode() if kind == "Secret" else value
        return data

    @functools.cached_property
    def workloads(self) -> list[Workload]:
        found = []
        for obj in self.objects:
            path = POD_TEMPLATE_PATHS.get((obj["apiVersion"], obj["kind"]))
            if path is None:
                continue
            template = obj
            for key in path:
                template = template[key]
            spec = template.get("spec", {})
            found.append(
                Workload(
                    obj,
                    template,
                    [Container(c, self.resolve_env(c)) for c in spec.get("containers", [])],
                    [Container(c, self.resolve_env(c)) for c in spec.get("initContainers", [])],
                )
            )
        return found

    def core_workloads(self) -> list[Workload]:
        """The workloads Kubernetes itself runs (Knative Services are the functions')."""
        return [w for w in self.workloads if not w.is_knative]

    def workload(self, name: str) -> Workload:
        found = [w for w in self.workloads if w.name == name]
        if len(found) != 1:
            raise AssertionError(f"{self.stage}: {len(found)} workloads named {name!r}")
        return found[0]

    def resolve_env(self, container: dict) -> dict[str, str]:
        """The container's environment as the kubelet builds it: envFrom first, then env
        in order, each value's $(VAR) expanded from the variables before it."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                data = self.config_data("ConfigMap", source["configMapRef"]["name"])
            else:
                data = self.config_data("Secret", source["secretRef"]["name"])
            env.update({prefix + key: value for key, value in data.items()})
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = expand(variable["value"], env)
            elif "valueFrom" in variable:
                env[variable["name"]] = self._value_from(variable["valueFrom"])
            else:
                env[variable["name"]] = ""
        return env

    def _value_from(self, source: dict) -> str:
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in source:
                ref = source[key]
                data = self.config_data(kind, ref["name"])
                if ref["key"] not in data:
                    raise AssertionError(f"{self.stage}: {kind} {ref['name']} has no {ref['key']}")
                return data[ref["key"]]
        # fieldRef / resourceFieldRef: known only in a running pod.
        return "<from the pod: " + ", ".join(source) + ">"


def expand(text: str, env: dict[str, str]) -> str:
    """$(VAR) replaced by VAR's value when VAR is defined, as the kubelet does."""
    return VARIABLE_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), str(text))
