"""Every workload of every overlay is hardened, labelled, pinned, probed and sized.

A workload is every object Kubernetes runs pods for (Deployment, StatefulSet, Job,
CronJob...) in any overlay, the functions overlay's included, and in each stage with the
observability component (k8s/observability/<stage>); Knative Services are checked by the
functions' own suite. Each test collects every violation of its rule
and shows them all at once.
"""

from __future__ import annotations

import pytest

from tests.k8s.rendered import (
    OVERLAYS,
    Container,
    Overlay,
    Workload,
    project_version,
    render,
)

VERSION = project_version()
PORT = 8080  # every container of the project listens here (Knative's default too)
OUR_USER = 10001  # the images' non-root user (Containerfile)
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
# Readiness on another path than /readyz, each with its reason.
READINESS_PATHS = {
    # The functions' gateway: its /readyz polls every function it routes to, which would
    # wake (and keep awake) the functions that scale to zero; Knative starts those.
    ("functions", "gateway"): "/healthz",
}
# The one pod of a stage that gets a Kubernetes API token, with its reason: Prometheus
# lists and watches the pods it scrapes (k8s/components/observability/prometheus.yaml).
# Not automounted: a projected, short-lived token in that container only.
API_CLIENTS = {"prometheus"}
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def our_image(stage: str) -> str:
    """The image `make images` builds for a stage, as the manifests must name it."""
    return f"localhost/threefold/{stage}:{VERSION}"


def is_ours(container: Container) -> bool:
    return container.spec["image"].startswith("localhost/threefold/")


def workloads(path: str) -> list[Workload]:
    found = render(path).core_workloads()
    assert found, f"k8s/{path} runs no workload"
    return found


def effective(workload: Workload, container: Container, key: str) -> object:
    """A securityContext setting as it applies to the container (its own, else the pod's)."""
    own = container.spec.get("securityContext", {})
    if key in own:
        return own[key]
    return workload.pod_spec.get("securityContext", {}).get(key)


def each_container(path: str):
    for workload in workloads(path):
        for container in workload.every_container:
            yield workload, container


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_container_runs_non_root_read_only_without_privileges(path: str) -> None:
    wrong = []
    for workload, container in each_container(path):
        where = f"{workload}/{container.name}"
        own = container.spec.get("securityContext", {})
        if effective(workload, container, "runAsNonRoot") is not True:
            wrong.append(f"{where}: runAsNonRoot is not true")
        user = effective(workload, container, "runAsUser")
        if is_ours(container) and user != OUR_USER:
            wrong.append(f"{where}: runAsUser {user}, the image's user is {OUR_USER}")
        if not isinstance(user, int) or user == 0:
            wrong.append(f"{where}: runAsUser {user} (a numeric non-root user is needed)")
        seccomp = effective(workload, container, "seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            wrong.append(f"{where}: seccompProfile {seccomp}, not RuntimeDefault")
        if own.get("allowPrivilegeEscalation") is not False:
            wrong.append(f"{where}: allowPrivilegeEscalation is not false")
        if own.get("readOnlyRootFilesystem") is not True:
            wrong.append(f"{where}: readOnlyRootFilesystem is not true")
        if own.get("privileged"):
            wrong.append(f"{where}: privileged")
        capabilities = own.get("capabilities", {})
        if capabilities.get("drop") != ["ALL"] or capabilities.get("add"):
            wrong.append(f"{where}: capabilities {capabilities}, not drop [ALL]")
    assert wrong == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_no_pod_gets_a_service_account_token_or_host_access(path: str) -> None:
    """No token is automounted anywhere; the API_CLIENTS (Prometheus) mount one
    explicitly, and no other pod does."""
    wrong = []
    for workload in workloads(path):
        spec = workload.pod_spec
        if spec.get("automountServiceAccountToken") is not False:
            wrong.append(f"{workload}: automountServiceAccountToken is not false")
        token_volumes = [
            volume["name"]
            for volume in spec.get("volumes", [])
            for source in volume.get("projected", {}).get("sources", [])
            if "serviceAccountToken" in source
        ]
        if token_volumes and workload.name not in API_CLIENTS:
            wrong.append(f"{workload}: mounts a service account token ({token_volumes})")
        for container in workload.every_container:
            mounts = {m["name"]: m for m in container.spec.get("volumeMounts", [])}
            for name in token_volumes:
                if name in mounts and mounts[name]["mountPath"] != SERVICE_ACCOUNT_DIR:
                    wrong.append(f"{workload}/{container.name}: token not at {SERVICE_ACCOUNT_DIR}")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                wrong.append(f"{workload}: {key}")
        for volume in spec.get("volumes", []):
            if "hostPath" in volume:
                wrong.append(f"{workload}: hostPath volume {volume['name']}")
    assert wrong == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_written_path_is_a_volume_and_tmp_is_writable(path: str) -> None:
    """The root filesystem is read-only: what a process writes goes to an emptyDir (or the
    database's PersistentVolumeClaim), and the project's images get a writable /tmp."""
    wrong = []
    for workload, container in each_container(path):
        volumes = {v["name"]: v for v in workload.pod_spec.get("volumes", [])}
        claims = {
            t["metadata"]["name"] for t in workload.obj["spec"].get("volumeClaimTemplates", [])
        }
        mounts = {m["mountPath"]: m for m in container.spec.get("volumeMounts", [])}
        for path, mount in mounts.items():
            name = mount["name"]
            if mount.get("readOnly") or name in claims:
                continue
            if "emptyDir" not in volumes.get(name, {}) and not _read_only_kind(volumes.get(name)):
                wrong.append(f"{workload}/{container.name}: {path} is writable but not an emptyDir")
        if is_ours(container):
            tmp = mounts.get("/tmp")
            if tmp is None or "emptyDir" not in volumes.get(tmp["name"], {}):
                wrong.append(f"{workload}/{container.name}: no emptyDir at /tmp")
    assert wrong == []


def _read_only_kind(volume: dict | None) -> bool:
    """Volumes the kubelet always mounts read-only."""
    return bool(volume) and any(k in volume for k in ("configMap", "secret", "projected"))


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_container_has_requests_and_limits(path: str) -> None:
    wrong = []
    for workload, container in each_container(path):
        resources = container.spec.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(bound, {}):
                    wrong.append(f"{workload}/{container.name}: no {bound}.{resource}")
    assert wrong == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_image_is_pinned_and_ours_are_the_ones_make_images_builds(path: str) -> None:
    stage = render(path).stage
    wrong = []
    for workload, container in each_container(path):
        image = container.spec["image"]
        name, _, tag = image.rpartition(":")
        if "@sha256:" not in image and (not name or "/" in tag or tag in ("", "latest")):
            wrong.append(f"{workload}/{container.name}: {image} has no pinned tag")
        if is_ours(container) and image != our_image(stage):
            wrong.append(f"{workload}/{container.name}: {image}, expected {our_image(stage)}")
        if container.spec.get("imagePullPolicy") == "Always":
            wrong.append(f"{workload}/{container.name}: imagePullPolicy Always (kind-loaded)")
    assert wrong == []
    assert any(is_ours(c) for _, c in each_container(path)), f"{stage} runs none of our images"


@pytest.mark.parametrize("path", OVERLAYS)
def test_every_object_carries_the_recommended_labels(path: str) -> None:
    stage = render(path).stage
    overlay = render(path)
    expected = {
        "app.kubernetes.io/part-of": "threefold",
        "app.kubernetes.io/component": stage,
        "app.kubernetes.io/version": VERSION,
    }
    wrong = []
    for obj in overlay.objects:
        labels = obj["metadata"].get("labels", {})
        missing = {k: v for k, v in expected.items() if labels.get(k) != v}
        if missing:
            wrong.append(f"{obj['kind']}/{obj['metadata']['name']}: lacks {missing}")
    for workload in overlay.core_workloads():
        labels = workload.pod_labels
        if labels.get("app.kubernetes.io/name") != workload.name:
            wrong.append(f"{workload}: pods not labelled app.kubernetes.io/name={workload.name}")
        if workload.obj["metadata"]["labels"].get("app.kubernetes.io/name") != workload.name:
            wrong.append(f"{workload}: not labelled app.kubernetes.io/name={workload.name}")
        missing = {k: v for k, v in expected.items() if labels.get(k) != v}
        if missing:
            wrong.append(f"{workload}: pods lack {missing}")
    assert wrong == []


def _probe_target(container: Container, probe: dict) -> tuple[str, int | None] | None:
    get = probe.get("httpGet")
    if get is None:
        return None
    return get.get("path"), container.port_number(get["port"])


@pytest.mark.parametrize("path", OVERLAYS)
def test_long_running_workloads_have_probes_on_the_real_health_paths(path: str) -> None:
    stage = render(path).stage
    wrong = []
    for workload, container in each_container(path):
        if workload.kind not in LONG_RUNNING or container in workload.init_containers:
            continue
        where = f"{workload}/{container.name}"
        for kind in ("readinessProbe", "livenessProbe"):
            if kind not in container.spec:
                wrong.append(f"{where}: no {kind}")
        if not is_ours(container):
            continue
        ports = [p["containerPort"] for p in container.spec.get("ports", [])]
        if ports != [PORT]:
            wrong.append(f"{where}: ports {ports}, every process listens on {PORT}")
        readiness = _probe_target(container, container.spec.get("readinessProbe", {}))
        liveness = _probe_target(container, container.spec.get("livenessProbe", {}))
        ready_path = READINESS_PATHS.get((stage, workload.name), "/readyz")
        if readiness != (ready_path, PORT):
            wrong.append(f"{where}: readiness probe {readiness}, expected {ready_path} on {PORT}")
        if liveness != ("/healthz", PORT):
            wrong.append(f"{where}: liveness probe {liveness}, expected /healthz on {PORT}")
    assert wrong == []


def _listens_on(container: Container) -> str | None:
    """Where the container's process binds, read from its command and environment."""
    argv = container.argv
    if "gunicorn" in argv:
        return container.env.get("BIND")  # monolith/gunicorn_conf.py reads BIND
    if "uvicorn" in argv:
        host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
        port = argv[argv.index("--port") + 1] if "--port" in argv else "8000"
        return f"{host}:{port}"
    return None


@pytest.mark.parametrize("path", OVERLAYS)
def test_web_processes_bind_all_interfaces_on_the_probed_port(path: str) -> None:
    stage = render(path).stage
    """gunicorn's and uvicorn's defaults (127.0.0.1:8000) would pass no probe."""
    checked, wrong = 0, []
    for workload, container in each_container(path):
        bind = _listens_on(container)
        if workload.kind not in LONG_RUNNING or not is_ours(container) or bind is None:
            continue
        checked += 1
        if bind != f"0.0.0.0:{PORT}":
            wrong.append(f"{workload}/{container.name}: binds {bind}, not 0.0.0.0:{PORT}")
    assert wrong == []
    if stage != "functions":  # the functions serve on Knative's PORT (their own suite)
        assert checked, f"{stage}: no gunicorn or uvicorn process found"


@pytest.mark.parametrize("path", OVERLAYS)
def test_production_everywhere_and_no_replica_migrates_or_seeds(path: str) -> None:
    wrong = []
    for workload, container in each_container(path):
        if not is_ours(container):
            continue
        if container.env.get("THREEFOLD_ENV") != "production":
            wrong.append(f"{workload}/{container.name}: THREEFOLD_ENV is not production")
        one_off = {"shop.persistence.migrate", "shop.seed"} & set(container.argv)
        if one_off and workload.kind != "Job":
            wrong.append(f"{workload}/{container.name}: runs {one_off} outside a Job")
        unresolved = [word for word in container.argv if "$(" in word]
        if unresolved:
            wrong.append(f"{workload}/{container.name}: undefined variables in {unresolved}")
    assert wrong == []


@pytest.mark.parametrize("path", OVERLAYS)
def test_jobs_run_once_with_retries(path: str) -> None:
    stage = render(path).stage
    jobs = render(path).of_kind("Job")
    assert jobs, f"{stage}: no Job (the migrations and the seed run as Jobs)"
    wrong = []
    for job in jobs:
        spec = job["spec"]
        if spec["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
            wrong.append(f"Job/{job['metadata']['name']}: restartPolicy")
        if not 1 <= spec.get("backoffLimit", 6) <= 20:
            wrong.append(f"Job/{job['metadata']['name']}: backoffLimit out of 1..20")
    assert wrong == []


def test_a_namespace_of_a_stage_enforces_the_restricted_pod_security_standard() -> None:
    for stage in ("monolith", "microservices"):
        overlay: Overlay = render(stage)
        labels = overlay.named("Namespace", f"threefold-{stage}")["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
