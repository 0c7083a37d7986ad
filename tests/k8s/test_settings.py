"""Cross-check: every setting the code needs is set by the manifests.

For each container of the project's images, the entry point its command starts is
mapped to the settings classes it reads (ENTRY_SETTINGS). Then, with exactly the
environment the manifests give the container (ConfigMaps and Secrets resolved):

- every field a settings class declares without a default is set;
- the classes validate, which runs their production rules (THREEFOLD_ENV=production
  refuses the local admin token, and whatever else they refuse);
- every `os.environ["NAME"]` the stage's code reads without a default is set;
- a process that keeps data resolves its database to PostgreSQL, never the SQLite
  fallback.

An entry point missing from ENTRY_SETTINGS fails: a new workload must say what it reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from pydantic_settings import BaseSettings

from functions.broker.settings import BrokerSettings
from functions.runtime.settings import FunctionSettings
from gateway.settings import GatewaySettings
from microservices.common.settings import ServiceSettings
from shop.persistence.database import PoolSettings, database_url, is_sqlite
from shop.settings import ShopSettings
from tests.k8s.rendered import ROOT, STAGES, Container, render

# Entry point (module, or module:attribute) pattern -> the settings classes it reads.
ENTRY_SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    r"monolith\.wsgi:app": (ShopSettings, PoolSettings),
    r"microservices\.\w+\.app:create_app": (ServiceSettings, PoolSettings),
    r"gateway\.app:create_app": (GatewaySettings,),
    r"functions\.broker\.app:create_app": (BrokerSettings,),
    r"functions\.\w+": (FunctionSettings, PoolSettings),
    # One-off steps: their databases come as --url arguments (checked in test_databases).
    r"shop\.persistence\.migrate": (),
    r"shop\.seed": (),
}
# Entry points whose process keeps data in the stage's database.
WITH_DATABASE = re.compile(r"monolith\.wsgi:app|microservices\.\w+\.app:create_app")


def entry_point(container: Container) -> str:
    """What the container's command starts: gunicorn's app, uvicorn's factory, or the
    module run by `python -m` (through shop.startup or not)."""
    argv = container.argv
    if "gunicorn" in argv:
        return argv[-1]
    if "uvicorn" in argv:
        return argv[argv.index("--factory") + 1]
    module = argv[argv.index("-m") + 1]
    if module == "shop.startup":
        return argv[argv.index("-m") + 2]
    return module


def settings_read_by(container: Container) -> tuple[type[BaseSettings], ...]:
    entry = entry_point(container)
    for pattern, classes in ENTRY_SETTINGS.items():
        if re.fullmatch(pattern, entry):
            return classes
    raise AssertionError(f"{entry}: add what it reads to ENTRY_SETTINGS (tests/k8s)")


def variable_names(cls: type[BaseSettings], field: str) -> set[str]:
    prefix = cls.model_config.get("env_prefix", "")
    info = cls.model_fields[field]
    alias = info.validation_alias or info.alias
    names = {alias} if isinstance(alias, str) else {f"{prefix}{field}"}
    return {name.upper() for name in names}


@cache
def direct_reads(package: str) -> frozenset[str]:
    """The environment variables a package reads with os.environ["NAME"] (no default)."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        found.update(re.findall(r"environ\[\s*[\"'](\w+)[\"']\s*\]", path.read_text()))
    return frozenset(found)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ replaced by exactly `values` for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def problems(container: Container, stage: str) -> list[str]:
    found = []
    classes = settings_read_by(container)
    for cls in classes:
        for field, info in cls.model_fields.items():
            names = variable_names(cls, field)
            if info.is_required() and not names & set(container.env):
                found.append(f"{cls.__name__} needs {' or '.join(sorted(names))}")
        with environment(container.env):
            try:
                cls()
            except ValueError as error:  # pydantic's ValidationError is a ValueError
                found.append(f"{cls.__name__} refuses the environment: {error}")
    packages = {"shop", stage, *(["gateway"] if stage != "monolith" else [])}
    for name in sorted(set().union(*(direct_reads(p) for p in packages))):
        if name not in container.env:
            found.append(f"the code reads {name} without a default")
    if WITH_DATABASE.fullmatch(entry_point(container)):
        try:
            if is_sqlite(database_url(None, container.env)):
                found.append("its database falls back to SQLite")
        except ValueError as error:  # production refuses a missing URL outright
            found.append(f"no database URL: {error}")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_the_manifests_set_everything_the_code_needs(stage: str) -> None:
    checked, wrong = 0, []
    for workload in render(stage).workloads:
        for container in workload.every_container:
            if not container.spec["image"].startswith("localhost/threefold/"):
                continue
            checked += 1
            wrong += [f"{workload}/{container.name}: {p}" for p in problems(container, stage)]
    assert wrong == []
    assert checked, f"{stage}: no container of the project's images"


def test_a_missing_setting_is_caught() -> None:
    """The cross-check fails when the manifests leave out what production needs."""
    monolith = render("monolith").workload("monolith").containers[0]
    without_token = Container(
        monolith.spec, {k: v for k, v in monolith.env.items() if k != "ADMIN_TOKEN"}
    )
    assert any("ADMIN_TOKEN" in p for p in problems(without_token, "monolith"))
    without_database = Container(
        monolith.spec, {k: v for k, v in monolith.env.items() if k != "DATABASE_URL"}
    )
    assert any("SQLite" in p or "DATABASE_URL" in p for p in problems(without_database, "monolith"))
