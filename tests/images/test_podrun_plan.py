"""The harness's reading of an overlay (tools/podrun), on a fixture: no image, no process.

What `make test-images` does with the real overlays rests on this: the workloads found,
their environment resolved as the kubelet would, and cluster addresses turned into this
machine's (peers at their host ports, PostgreSQL local with a name per run).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tools.podrun import addresses
from tools.podrun.databases import LocalPostgres
from tools.podrun.environment import Sources, expand, resolve
from tools.podrun.manifests import ManifestError, render, workloads
from tools.podrun.platform import injected
from tools.podrun.run import StageRun, outside_volumes, plan, process, shown

FIXTURE = Path(__file__).parent / "fixtures" / "overlay"
IMAGE_CMD = {"localhost/threefold/monolith:0.1.0": ["python", "-m", "gunicorn"]}


class RecordingPostgres(LocalPostgres):
    """Names what it would create, creates nothing."""

    def __init__(self) -> None:
        super().__init__("postgresql://unused", prefix="tfimg_test_fixt")
        self.statements: list[str] = []

    def _run(self, *statements) -> None:
        self.statements += [repr(s) for s in statements]


@pytest.fixture(scope="module")
def objects():
    return render(FIXTURE)


@pytest.fixture
def the_plan(objects):
    return plan("fixture", objects, say=lambda line: None)


def _by_name(the_plan, name):
    return next(w for w in the_plan.workloads if w.name == name)


def test_every_workload_is_found_and_only_ours_are_run(the_plan):
    assert sorted((w.kind, w.name) for w in the_plan.workloads) == [
        ("Deployment", "monolith"),
        ("Job", "migrate"),
        ("Job", "seed"),
        ("KnativeService", "catalog-read"),
        ("StatefulSet", "postgres"),
    ]
    assert sorted(w.name for w in the_plan.ours) == ["catalog-read", "migrate", "monolith", "seed"]
    assert sorted(w.name for w in the_plan.ours if w.completes) == ["migrate", "seed"]
    assert set(the_plan.host_ports) == {"monolith", "catalog-read"}


def test_probes_resolve_named_ports_and_knatives_default(the_plan):
    monolith = _by_name(the_plan, "monolith").main
    assert (monolith.readiness.path, monolith.readiness.port) == ("/readyz", 8080)
    assert (monolith.liveness.path, monolith.liveness.port) == ("/healthz", 8080)
    function = _by_name(the_plan, "catalog-read").main
    assert (function.readiness.path, function.readiness.port) == ("/health/readiness", 8080)


def test_the_environment_comes_from_generated_secrets_and_config_maps(the_plan, objects):
    w = _by_name(the_plan, "monolith")
    env = resolve(w.main, w, Sources(objects))
    assert env["DATABASE_URL"] == "postgresql://shop:fixture-password@postgres:5432/shop"
    assert env["ADMIN_TOKEN"] == "fixture-admin-token-0123456789"
    assert (env["WEB_CONCURRENCY"], env["BIND"]) == ("1", "0.0.0.0:8080")


def test_a_key_the_render_lacks_fails_as_the_kubelet_would(the_plan, objects):
    w = _by_name(the_plan, "catalog-read")
    w.main.env.append({"name": "X", "valueFrom": {"secretKeyRef": {"name": "nothing", "key": "X"}}})
    with pytest.raises(ManifestError, match="key 'X' of Secret 'nothing'"):
        resolve(w.main, w, Sources(objects))


def test_var_references_expand_like_kubernetes():
    defined = {"URL": "postgresql://x@postgres/db"}
    assert expand("--url=$(URL)", defined) == "--url=postgresql://x@postgres/db"
    assert expand("$(MISSING) $$(URL)", defined) == "$(MISSING) $(URL)"


def test_the_monolith_binds_its_host_port_and_reaches_the_local_database(the_plan, objects):
    database = RecordingPostgres()
    w = _by_name(the_plan, "monolith")
    words, env = process(w, w.main, the_plan, Sources(objects), database, IMAGE_CMD.get)
    port = the_plan.host_ports["monolith"][8080]
    assert env["BIND"] == f"0.0.0.0:{port}"
    assert env["DATABASE_URL"] == (
        "postgresql://tfimg_test_fixt_shop:fixture-password@127.0.0.1:5432/tfimg_test_fixt_shop"
    )
    assert words[:4] == ["python", "-m", "gunicorn", "-c"]
    assert [s.split("(")[0] for s in database.statements] == ["Composed"] * 3  # role, db, revoke


def test_a_job_expands_its_command_with_the_rewritten_url(the_plan, objects):
    w = _by_name(the_plan, "seed")
    words, _ = process(w, w.main, the_plan, Sources(objects), RecordingPostgres(), IMAGE_CMD.get)
    assert words == [
        "python", "-m", "shop.seed", "--url",
        "postgresql://tfimg_test_fixt_shop:fixture-password@127.0.0.1:5432/tfimg_test_fixt_shop",
    ]  # fmt: skip


def test_a_knative_service_gets_its_port_and_reaches_peers_by_service_name(the_plan, objects):
    w = _by_name(the_plan, "catalog-read")
    _, env = process(w, w.main, the_plan, Sources(objects), RecordingPostgres(), IMAGE_CMD.get)
    port = the_plan.host_ports["catalog-read"][8080]
    assert env["PORT"] == str(port)
    assert env["LISTEN_ADDRESS"] == f"[::]:{port},0.0.0.0:{port}"
    assert env["CATALOG_URL"] == f"http://127.0.0.1:{port}"
    assert env["CATALOG_DATABASE_URL"].startswith("postgresql://tfimg_test_fixt_shop:")


def test_container_ports_move_in_argv_and_nothing_else_does():
    ports = {8080: 41234}
    argv = ["uvicorn", "--port", "8080", "--bind=0.0.0.0:8080", "python:monolith.conf", "8080"]
    assert addresses.move_port_in_argv(argv, ports) == [
        "uvicorn", "--port", "41234", "--bind=0.0.0.0:41234", "python:monolith.conf", "8080",
    ]  # fmt: skip
    assert addresses.move_port_in_env("PEER", "http://peer:8080", ports) == "http://peer:8080"
    assert addresses.move_port_in_env("WORKERS", "8080", ports) == "8080"


def test_an_address_outside_the_render_is_left_as_written(the_plan):
    text = "http://broker-ingress.knative-eventing.svc.cluster.local/ns/default"
    rewritten = addresses.rewrite_urls(
        text, lambda m: addresses.peer_url(m, the_plan.names, the_plan.host_ports)
    )
    assert rewritten == text


def test_workloads_of_an_empty_render_are_none():
    assert workloads([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]) == []


def test_progress_output_masks_url_passwords():
    words = ["migrate", "--url", "postgresql://shop:s3cret@127.0.0.1:5432/shop"]
    assert shown(words) == "migrate --url postgresql://shop:***@127.0.0.1:5432/shop"


def test_a_sink_binding_gives_its_subject_k_sink(the_plan, objects):
    w = _by_name(the_plan, "catalog-read")
    _, env = process(w, w.main, the_plan, Sources(objects), RecordingPostgres(), IMAGE_CMD.get)
    # the broker runs nowhere here: its address stays the cluster's
    assert env["K_SINK"] == (
        "http://broker-ingress.knative-eventing.svc.cluster.local/podrun-fixture/shop"
    )
    monolith = _by_name(the_plan, "monolith")
    assert injected(monolith, objects) == {}  # no binding names it, no Knative port


def test_a_service_port_reaches_the_selected_workloads_named_container_port(the_plan, objects):
    services = addresses.service_ports(objects, the_plan.workloads)
    endpoint = addresses.Endpoint("monolith", 8080)
    assert services[("podrun-fixture", "monolith")][80] == endpoint
    assert the_plan.names[("monolith.podrun-fixture.svc.cluster.local", 80)] == endpoint
    assert ("podrun-fixture", "postgres") in services  # selects the StatefulSet, run nowhere


class ScriptedJobs(StageRun):
    """Jobs that 'run' by a script: seed fails until migrate has completed."""

    def __init__(self) -> None:
        super().__init__("fixture", FIXTURE, "test", "postgresql://unused", Path("."), say=print)
        self.ran: list[str] = []
        self.job_backoff = 0.0

    def _complete(self, w, c, the_plan, sources, attempt):
        self.ran.append(w.name)
        if w.name == "seed" and "migrate" not in self.ran:
            return False, "no tables yet"
        if w.name == "broken":
            return False, "exit 1"
        return True, "exited 0"


def test_a_job_waiting_on_another_is_retried_after_it(the_plan, objects):
    run = ScriptedJobs()
    seed, migrate = _by_name(the_plan, "seed"), _by_name(the_plan, "migrate")
    run._jobs([seed, migrate], the_plan, Sources(objects))
    assert run.ran == ["seed", "migrate", "seed"]
    assert [(o.workload, o.passed) for o in run.outcomes] == [
        ("Job/migrate", True),
        ("Job/seed", True),
    ]


def test_a_job_that_keeps_failing_fails_after_its_backoff_limit(the_plan, objects):
    run = ScriptedJobs()
    broken = replace(_by_name(the_plan, "migrate"), name="broken", backoff_limit=2)
    run._jobs([broken], the_plan, Sources(objects))
    assert run.ran == ["broken"] * 3  # the first run and backoffLimit retries
    assert [(o.workload, o.passed, o.detail) for o in run.outcomes] == [
        ("Job/broken", False, "exit 1")
    ]


def test_writes_count_against_a_read_only_root_only_outside_its_volumes(the_plan):
    monolith = _by_name(the_plan, "monolith").main
    assert (monolith.read_only_root, monolith.mounts) == (True, ("/tmp",))
    files = ["tmp/wgunicorn-1", "tmp/x/y", "app/monolith/__pycache__/a.pyc", "tmpfile"]
    assert outside_volumes(monolith, files) == ["/app/monolith/__pycache__/a.pyc", "/tmpfile"]
