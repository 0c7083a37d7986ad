"""k8s/loadtest: Locust distributed against one stage, checked offline like the stages.

Each overlay k8s/loadtest/<stage> builds with kubectl's kustomize, every object validates
strictly, every pod is hardened, the master's command is one `python -m loadtests` takes
and names the stage's real entrypoint, the workers' command is worker_argv's, the
sampler's Role lists only what loadtests/replicas.py reads, and the NetworkPolicies of
the load test and of the stage together open the load's flows and no others.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from loadtests import cluster_results, in_cluster, replicas
from loadtests.locust_process import MASTER_PORT, LoadSettings, worker_argv
from tests.k8s.rendered import ROOT, STAGES, Overlay, Workload, project_version, render
from tests.k8s.schemas import validate
from tests.k8s.selectors import selects

VERSION = project_version()
NAMESPACE = cluster_results.NAMESPACE
IMAGE = f"localhost/threefold/loadtest:{VERSION}"
IMAGE_LOCUSTFILE = Path("/app/loadtests/locustfile.py")  # WORKDIR /app (Containerfile)
ENTRYPOINTS = {"monolith": "monolith", "microservices": "gateway", "functions": "gateway"}
SAMPLER_RULES = [  # what ReplicaSampler lists, and nothing else
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["list"]},
    {"apiGroups": [replicas.KNATIVE_GROUP], "resources": ["revisions"], "verbs": ["list"]},
]


def load(stage: str) -> Overlay:
    return render(f"loadtest/{stage}")


def master(stage: str) -> Workload:
    return load(stage).workload("locust-master")


def worker(stage: str) -> Workload:
    return load(stage).workload("locust-worker")


def master_args(stage: str) -> argparse.Namespace:
    """The master's command as the kubelet expands it, parsed by `python -m loadtests`."""
    (container,) = master(stage).containers
    argv = container.argv
    assert argv[:3] == ["python", "-m", "loadtests"], argv
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    in_cluster.add_parser(commands)
    return parser.parse_args(argv[3:])


@pytest.mark.parametrize("stage", STAGES)
def test_every_object_validates_and_sits_in_the_load_or_the_stage_namespace(stage: str) -> None:
    failures = []
    for obj in load(stage).objects:
        try:
            validate(obj)
        except Exception as error:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    assert failures == []
    placed = {
        (obj["kind"], obj["metadata"]["name"]): obj["metadata"].get("namespace")
        for obj in load(stage).objects
    }
    in_stage = sorted(key for key, ns in placed.items() if ns == f"threefold-{stage}")
    assert in_stage == [
        ("NetworkPolicy", "allow-loadtest"),
        ("Role", "loadtest-replica-sampler"),
        ("RoleBinding", "loadtest-replica-sampler"),
    ]
    elsewhere = {k: ns for k, ns in placed.items() if ns not in (NAMESPACE, f"threefold-{stage}")}
    assert elsewhere == {("Namespace", NAMESPACE): None}
    namespace = load(stage).named("Namespace", NAMESPACE)["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def _effective(workload: Workload, container_spec: dict, key: str) -> object:
    own = container_spec.get("securityContext", {})
    return own[key] if key in own else workload.pod_spec.get("securityContext", {}).get(key)


@pytest.mark.parametrize("stage", STAGES)
def test_every_load_pod_is_hardened_labelled_and_runs_the_loadtest_image(stage: str) -> None:
    wrong = []
    workloads = load(stage).core_workloads()
    assert sorted(str(w) for w in workloads) == ["Deployment/locust-worker", "Job/locust-master"]
    for workload in workloads:
        (container,) = workload.containers
        spec, where = container.spec, f"{workload}"
        own = spec.get("securityContext", {})
        checks = {
            "runAsNonRoot": _effective(workload, spec, "runAsNonRoot") is True,
            "runAsUser 10001": _effective(workload, spec, "runAsUser") == 10001,
            "seccomp RuntimeDefault": (_effective(workload, spec, "seccompProfile") or {}).get(
                "type"
            )
            == "RuntimeDefault",
            "no privilege escalation": own.get("allowPrivilegeEscalation") is False,
            "read-only root": own.get("readOnlyRootFilesystem") is True,
            "capabilities drop ALL": own.get("capabilities") == {"drop": ["ALL"]},
            "image": spec["image"] == IMAGE and spec.get("imagePullPolicy") != "Always",
            "requests and limits": all(
                r in spec.get("resources", {}).get(b, {})
                for b in ("requests", "limits")
                for r in ("cpu", "memory")
            ),
        }
        wrong += [f"{where}: {rule}" for rule, ok in checks.items() if not ok]
        volumes = {v["name"]: v for v in workload.pod_spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in spec.get("volumeMounts", [])}
        if "/tmp" not in mounts:
            wrong.append(f"{where}: no /tmp")
        wrong += [
            f"{where}: {path} is not an emptyDir"
            for path, name in mounts.items()
            if "emptyDir" not in volumes.get(name, {})
        ]
        labels = workload.pod_labels
        expected = {
            "app.kubernetes.io/name": workload.name,
            "app.kubernetes.io/part-of": "threefold",
            "app.kubernetes.io/component": "loadtest",
            "app.kubernetes.io/version": VERSION,
        }
        wrong += [f"{where}: pod label {k}" for k, v in expected.items() if labels.get(k) != v]
        # Only the master calls the Kubernetes API (the replica sampler).
        token = workload.pod_spec.get("automountServiceAccountToken")
        if token is not (workload.name == "locust-master"):
            wrong.append(f"{where}: automountServiceAccountToken {token}")
    assert wrong == []
    for account in load(stage).of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False, account["metadata"]["name"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_master_runs_the_stage_through_its_entrypoint_service(stage: str) -> None:
    args = master_args(stage)
    assert (args.command, args.stage, args.namespace) == ("in-cluster", stage, f"threefold-{stage}")
    assert args.out == Path("/results") and args.hold > 0
    LoadSettings(args.shape, args.profile, args.pacing, args.rate).describe()  # a real shape
    # The URL is the stage's own entrypoint Service (k8s/<stage>), on the port it serves.
    url = urlsplit(args.url)
    service_name, service_namespace, *_ = url.hostname.split(".")
    assert service_name == ENTRYPOINTS[stage] and service_namespace == f"threefold-{stage}"
    service = render(stage).named("Service", service_name)
    assert url.port in [p["port"] for p in service["spec"]["ports"]]
    assert any(
        selects({"matchLabels": service["spec"]["selector"]}, w.pod_labels)
        for w in render(stage).workloads
    ), f"no pod of k8s/{stage} behind Service {service_name}"


@pytest.mark.parametrize("stage", STAGES)
def test_the_results_volume_probes_and_job_fit_fetch(stage: str) -> None:
    job = master(stage)
    (container,) = job.containers
    args = master_args(stage)
    assert container.name == cluster_results.CONTAINER
    assert {m["mountPath"] for m in container.spec["volumeMounts"]} >= {str(args.out)}
    assert str(args.out) == cluster_results.RESULTS
    selector = dict(part.split("=") for part in cluster_results.MASTER_LABEL.split(","))
    assert selects({"matchLabels": selector}, job.pod_labels)
    ready, alive = container.spec["readinessProbe"], container.spec["livenessProbe"]
    assert ready["httpGet"]["path"] == "/readyz" and alive["httpGet"]["path"] == "/healthz"
    for probe in (ready, alive):
        assert container.port_number(probe["httpGet"]["port"]) == args.port
    assert job.obj["spec"]["backoffLimit"] == 0  # a load run is not repeated unasked
    assert job.pod_spec["restartPolicy"] == "Never"


@pytest.mark.parametrize("stage", STAGES)
def test_the_workers_run_worker_argv_and_the_master_waits_for_all_of_them(stage: str) -> None:
    (container,) = worker(stage).containers
    service = load(stage).named("Service", "locust-master")
    expected = worker_argv(service["metadata"]["name"], MASTER_PORT, IMAGE_LOCUSTFILE)
    assert container.argv == ["python", *expected[1:]]
    assert expected[0] == sys.executable  # the only difference: the image's python
    assert master_args(stage).workers == worker(stage).obj["spec"]["replicas"] >= 1
    # The master is found while it is not Ready (Ready means: results complete).
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    assert selects({"matchLabels": service["spec"]["selector"]}, master(stage).pod_labels)
    (master_container,) = master(stage).containers
    assert master_container.port_number(service["spec"]["ports"][0]["targetPort"]) == MASTER_PORT


@pytest.mark.parametrize("stage", STAGES)
def test_the_replica_sampler_may_only_list_what_it_reads_in_the_stage(stage: str) -> None:
    overlay = load(stage)
    assert overlay.of_kind("ClusterRole") == [] and overlay.of_kind("ClusterRoleBinding") == []
    (role,) = overlay.of_kind("Role")
    assert role["metadata"]["namespace"] == f"threefold-{stage}"
    assert role["rules"] == SAMPLER_RULES
    (binding,) = overlay.of_kind("RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    account = master(stage).pod_spec["serviceAccountName"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    ]


# --- the flows, as a NetworkPolicy implementation decides them ----------------------------


API_SERVER = ("", {}, "172.18.0.2")  # the control plane node's address on kind: not a pod


def _peer_matches(peer: dict, policy_ns: str, ns: str, labels: dict, ip: str | None) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        inside = ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(block["cidr"])
        excluded = ip is not None and any(
            ipaddress.ip_address(ip) in ipaddress.ip_network(e) for e in block.get("except", [])
        )
        return inside and not excluded
    if ip is not None:  # not a pod: only an ipBlock (or no peer list) names it
        return False
    if "namespaceSelector" in peer:
        ns_labels = {"kubernetes.io/metadata.name": ns}
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif ns != policy_ns:
        return False
    return selects(peer.get("podSelector", {}), labels)


def _rule_allows(rule: dict, side: str, policy_ns: str, peer, port: int) -> bool:
    ns, labels, ip = peer
    peers = rule.get(side)
    if peers and not any(_peer_matches(p, policy_ns, ns, labels, ip) for p in peers):
        return False
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port for p in ports)


def _direction_allows(policies, kind, own, other, port) -> bool:
    """Egress of `own` to `other` (kind Egress), or ingress of `own` from `other`."""
    ns, labels, _ = own
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == ns
        and kind in p["spec"].get("policyTypes", [])
        and selects(p["spec"]["podSelector"], labels)
    ]
    if not selecting:
        return True
    side, key = ("to", "egress") if kind == "Egress" else ("from", "ingress")
    return any(
        _rule_allows(rule, side, p["metadata"]["namespace"], other, port)
        for p in selecting
        for rule in p["spec"].get(key, [])
    )


def allowed(policies: list[dict], source, destination, port: int) -> bool:
    egress = _direction_allows(policies, "Egress", source, destination, port)
    if destination is API_SERVER:
        return egress
    return egress and _direction_allows(policies, "Ingress", destination, source, port)


def _pod(overlay: Overlay, name: str) -> tuple[str, dict, None]:
    workload = overlay.workload(name)
    return workload.obj["metadata"]["namespace"], workload.pod_labels, None


@pytest.mark.parametrize("stage", STAGES)
def test_the_policies_open_the_load_flows_and_no_others(stage: str) -> None:
    run, target = load(stage), render(stage)
    policies = [*run.of_kind("NetworkPolicy"), *target.of_kind("NetworkPolicy")]
    master_pod, worker_pod = _pod(run, "locust-master"), _pod(run, "locust-worker")
    entry = _pod(target, ENTRYPOINTS[stage])
    must = {
        "worker -> master:5557": allowed(policies, worker_pod, master_pod, MASTER_PORT),
        "worker -> entry:8080": allowed(policies, worker_pod, entry, 8080),
        "master -> entry:8080": allowed(policies, master_pod, entry, 8080),
        "master -> API:6443": allowed(policies, master_pod, API_SERVER, 6443),
    }
    assert [flow for flow, ok in must.items() if not ok] == []
    others = [w for w in target.core_workloads() if w.name != ENTRYPOINTS[stage]]
    database = next(w for w in others if w.name == "postgres")
    must_not = {
        "master -> worker:5557": allowed(policies, master_pod, worker_pod, MASTER_PORT),
        "worker -> API:6443": allowed(policies, worker_pod, API_SERVER, 6443),
        "worker -> entry:5432": allowed(policies, worker_pod, entry, 5432),
        "worker -> postgres:5432": allowed(policies, worker_pod, _pod(target, "postgres"), 5432),
        **{
            f"worker -> {w.name}:8080": allowed(policies, worker_pod, _pod(target, w.name), 8080)
            for w in others
            if w is not database
        },
    }
    assert [flow for flow, ok in must_not.items() if ok] == []
    # Another stage's entrypoint is out of reach of this stage's load test.
    for other in STAGES:
        if other != stage:
            elsewhere = (f"threefold-{other}", {"app.kubernetes.io/name": "gateway"}, None)
            assert not allowed(policies, worker_pod, elsewhere, 8080), other


def test_the_loadtest_image_is_a_target_of_the_containerfile() -> None:
    targets = [
        line.split()[-1]
        for line in (ROOT / "Containerfile").read_text().splitlines()
        if line.upper().startswith("FROM ") and " AS " in line.upper()
    ]
    assert "loadtest" in targets
