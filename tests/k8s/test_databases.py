"""Database per context, enforced by credentials: who gets which URL, and the Secrets,
the server's init and the migration Jobs agree on it."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from shop.persistence.tables import CONTEXTS
from tests.k8s.rendered import STAGES, Overlay, render

SPLIT_STAGES = ("microservices", "functions")


def databases_of(stage: str) -> tuple[str, ...]:
    return ("shop",) if stage == "monolith" else tuple(CONTEXTS)


def context_of(variable: str, workload_name: str, stage: str) -> str:
    """Whose database a URL variable must name: DATABASE_URL the workload's own context
    (the service, or the context a migrate-<context> Job migrates), <C>_DATABASE_URL C's."""
    if stage == "monolith":
        return "shop"
    if variable != "DATABASE_URL":
        return variable.removesuffix("_DATABASE_URL").lower()
    return workload_name.removeprefix("migrate-")


@pytest.mark.parametrize("stage", STAGES)
def test_every_process_gets_only_its_own_contexts_database(stage: str) -> None:
    overlay = render(stage)
    wrong, seen = [], 0
    for workload in overlay.core_workloads() + [w for w in overlay.workloads if w.is_knative]:
        for container in workload.every_container:
            for variable, url in container.database_urls().items():
                seen += 1
                owner = context_of(variable, workload.name, stage)
                parsed = make_url(url)
                if (parsed.username, parsed.database) != (owner, owner):
                    wrong.append(f"{workload}: {variable} is {parsed.username}@{parsed.database}")
                if (parsed.host, parsed.port) != ("postgres", 5432):
                    wrong.append(f"{workload}: {variable} points at {parsed.host}:{parsed.port}")
    assert wrong == []
    assert seen, f"{stage}: no process has a database URL"


@pytest.mark.parametrize("stage", STAGES)
def test_each_database_secret_agrees_with_itself(stage: str) -> None:
    """The URL the processes get carries the role and password the server's init makes."""
    overlay = render(stage)
    for database in databases_of(stage):
        data = _secret(overlay, f"{database}-database")
        url = make_url(data["DATABASE_URL"])
        assert (url.username, url.password, url.database) == (
            data["username"],
            data["password"],
            data["database"],
        )
        assert data["database"] == data["username"] == database
        assert len(data["password"]) >= 16


def _secret(overlay: Overlay, generated_name: str) -> dict[str, str]:
    """A generated Secret's data, found by its name before kustomize's hash suffix."""
    names = [
        s["metadata"]["name"]
        for s in overlay.of_kind("Secret")
        if s["metadata"]["name"].rsplit("-", 1)[0] == generated_name
    ]
    assert len(names) == 1, f"{overlay.stage}: Secrets named {generated_name}-<hash>: {names}"
    return overlay.config_data("Secret", names[0])


@pytest.mark.parametrize("stage", STAGES)
def test_the_server_makes_exactly_the_stages_databases(stage: str) -> None:
    overlay = render(stage)
    server = overlay.workload("postgres")
    volumes = {v["name"]: v for v in server.pod_spec["volumes"]}
    sources = volumes["databases"]["projected"]["sources"]
    made = {}
    for source in sources:
        secret = source["secret"]
        items = {item["key"]: item["path"] for item in secret["items"]}
        database = overlay.config_data("Secret", secret["name"])["database"]
        assert items == {k: f"{database}/{k}" for k in ("username", "password", "database")}
        made[database] = secret["name"]
    assert set(made) == set(databases_of(stage))
    mounts = {m["name"]: m["mountPath"] for m in server.containers[0].spec["volumeMounts"]}
    assert mounts["databases"] == "/etc/threefold/databases"
    assert mounts["init"] == "/docker-entrypoint-initdb.d"


@pytest.mark.parametrize("stage", STAGES)
def test_migrations_and_the_seed_run_as_jobs_per_context(stage: str) -> None:
    overlay = render(stage)
    migrated, seeded = {}, []
    for job in overlay.core_workloads():
        if job.kind != "Job":
            continue
        argv = job.containers[0].argv
        module = argv[argv.index("-m") + 1] if "-m" in argv else None
        options = dict(zip(argv[3::2], argv[4::2], strict=False))
        if module == "shop.persistence.migrate":
            context = options.get("--context", "every context")
            migrated[context] = make_url(options["--url"]).database
        elif module == "shop.seed":
            seeded.append(options)
    if stage == "monolith":
        assert migrated == {"every context": "shop"}
        assert [make_url(s["--url"]).database for s in seeded] == ["shop"]
    else:
        assert migrated == {c: c for c in CONTEXTS}
        assert [
            (make_url(s["--catalog-url"]).database, make_url(s["--inventory-url"]).database)
            for s in seeded
        ] == [("catalog", "inventory")]
