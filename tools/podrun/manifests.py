"""The workloads of a rendered overlay, as plain data: what a kubelet would be given."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KNATIVE_SERVICE = ("serving.knative.dev/v1", "Service")
KNATIVE_PORT = 8080  # Knative's container port when a Service names none


class ManifestError(Exception):
    """The render cannot be run as it is (a kubelet would refuse it too)."""


def render(overlay: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize OVERLAY`, parsed: every object of the overlay."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise ManifestError("kubectl is not on PATH: it renders the overlays (kubectl kustomize)")
    done = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ManifestError(f"kubectl kustomize {overlay} failed:\n{done.stderr.strip()}")
    return [o for o in yaml.safe_load_all(done.stdout) if o]


@dataclass(frozen=True)
class Probe:
    path: str
    port: int  # the container port (a named port already looked up)


@dataclass
class Container:
    name: str
    image: str
    command: list[str] | None  # None: the image's entrypoint / command
    args: list[str] | None
    env: list[dict[str, Any]]
    env_from: list[dict[str, Any]]
    ports: list[int]  # container ports, the first being the one served
    port_names: dict[str, int]
    readiness: Probe | None
    liveness: Probe | None
    run_as_user: int | None
    working_dir: str | None
    read_only_root: bool = False  # securityContext.readOnlyRootFilesystem
    mounts: tuple[str, ...] = ()  # where volumes are mounted: writable there


@dataclass
class Workload:
    kind: str  # Deployment, StatefulSet, Job, CronJob, KnativeService
    name: str
    namespace: str
    labels: dict[str, str]
    init_containers: list[Container]
    containers: list[Container]
    completes: bool  # a Job (or CronJob): runs to completion instead of serving
    backoff_limit: int = 6

    @property
    def main(self) -> Container:
        return self.containers[0]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def _pod(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec", {})
    if kind == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template", {})


def _probe(container: dict[str, Any], key: str, default_port: int | None) -> Probe | None:
    """An httpGet probe; with no port (Knative's way), the container's serving port."""
    http = (container.get(key) or {}).get("httpGet")
    if not http:
        return None
    port = http.get("port", default_port)
    if port is None:
        raise ManifestError(f"container {container.get('name')}: {key} has no port")
    if isinstance(port, str) and not port.isdigit():
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if port not in named:
            raise ManifestError(f"container {container['name']}: {key} names port {port!r}")
        port = named[port]
    return Probe(path=http.get("path", "/"), port=int(port))


def _container(raw: dict[str, Any], pod_user: int | None, default_port: int | None) -> Container:
    ports = [int(p["containerPort"]) for p in raw.get("ports", []) if "containerPort" in p]
    if not ports and default_port is not None:
        ports = [default_port]
    user = (raw.get("securityContext") or {}).get("runAsUser", pod_user)
    return Container(
        name=raw.get("name", "user-container"),
        image=raw["image"],
        command=raw.get("command"),
        args=raw.get("args"),
        env=list(raw.get("env", [])),
        env_from=list(raw.get("envFrom", [])),
        ports=ports,
        port_names={
            p["name"]: int(p["containerPort"]) for p in raw.get("ports", []) if "name" in p
        },
        readiness=_probe(raw, "readinessProbe", ports[0] if ports else None),
        liveness=_probe(raw, "livenessProbe", ports[0] if ports else None),
        run_as_user=user,
        working_dir=raw.get("workingDir"),
        read_only_root=bool((raw.get("securityContext") or {}).get("readOnlyRootFilesystem")),
        mounts=tuple(m["mountPath"] for m in raw.get("volumeMounts", [])),
    )


def workloads(objects: list[dict[str, Any]]) -> list[Workload]:
    """Every workload in the render, in the render's order."""
    found = []
    for obj in objects:
        kind = obj.get("kind")
        knative = (obj.get("apiVersion"), kind) == KNATIVE_SERVICE
        if not knative and kind not in ("Deployment", "StatefulSet", "Job", "CronJob"):
            continue
        template = _pod(kind, obj)
        pod = template.get("spec", {})
        pod_user = (pod.get("securityContext") or {}).get("runAsUser")
        port = KNATIVE_PORT if knative else None
        meta = obj["metadata"]
        job_spec = obj.get("spec", {})
        if kind == "CronJob":
            job_spec = job_spec.get("jobTemplate", {}).get("spec", {})
        found.append(
            Workload(
                kind="KnativeService" if knative else kind,
                name=meta["name"],
                namespace=meta.get("namespace", "default"),
                labels=(template.get("metadata") or {}).get("labels", {}),
                init_containers=[
                    _container(c, pod_user, None) for c in pod.get("initContainers", [])
                ],
                containers=[_container(c, pod_user, port) for c in pod.get("containers", [])],
                completes=kind in ("Job", "CronJob"),
                backoff_limit=int(job_spec.get("backoffLimit", 6)),
            )
        )
    return found
