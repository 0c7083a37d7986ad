"""What each stage is made of: its processes, its one-off steps and its public URL.

A plan says what to run; the launcher runs it. Adding a stage is adding one
function here and one entry in STAGES.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stages.launcher import ProcessSpec

PYTHON = sys.executable


@dataclass
class StagePlan:
    name: str
    url: str  # the stage's public base URL
    processes: list[ProcessSpec]
    prepare: list[list[str]] = field(default_factory=list)  # run before start (migrations)
    seed: list[list[str]] = field(default_factory=list)  # run to load the demo catalog


@dataclass
class StageOptions:
    """How to run a stage: where it listens, where its data lives, extra settings."""

    port: int = 8000
    data_dir: Path = Path("data")
    # Database URL per name in the stage's DATABASES (e.g. PostgreSQL); a name left out
    # gets a SQLite file in data_dir.
    database_urls: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # ADMIN_TOKEN, PAYMENT_*, ...
    # Extra environment for one process only, by process name (fault injection).
    process_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def database(self, name: str) -> str:
        return self.database_urls.get(name) or f"sqlite:///{self.data_dir.resolve() / name}.sqlite"


def monolith(options: StageOptions) -> StagePlan:
    url = options.database("monolith")
    web = ProcessSpec(
        name="monolith",
        argv=[PYTHON, "-m", "gunicorn", "-c", "python:monolith.gunicorn_conf", "monolith.wsgi:app"],
        port=options.port,
        env={
            "DATABASE_URL": url,
            "BIND": f"127.0.0.1:{options.port}",
            **options.env,
            **options.process_env.get("monolith", {}),
        },
    )
    return StagePlan(
        name="monolith",
        url=web.url,
        processes=[web],
        prepare=[[PYTHON, "-m", "shop.persistence.migrate", "--url", url]],
        seed=[[PYTHON, "-m", "shop.seed", "--url", url]],
    )


STAGES: dict[str, Callable[[StageOptions], StagePlan]] = {"monolith": monolith}
# The databases each stage keeps (names for StageOptions.database_urls).
DATABASES: dict[str, tuple[str, ...]] = {"monolith": ("monolith",)}
