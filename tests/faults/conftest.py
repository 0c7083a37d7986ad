"""The fault suite's stages: the microservices stage started for real, with faults injected.

Each stage runs on free ports, on fresh SQLite files in a temporary folder or on fresh
PostgreSQL databases (one per service, dropped after), with all its output in one log
file (`Stage.log`). The orders service re-drives stuck sagas fast
(every 0.3 s, for orders pending longer than 1 s) so a test sees the recovery in seconds.
Faults are injected by environment (slow payments, short timeouts) or by killing one
process and starting it again (`Stage.down`).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from shop.persistence.database import Database
from stages.definitions import SERVICES, StageOptions
from stages.launcher import FileSink, Launcher, ProcessSpec
from stages.listeners import Listener
from stages.running import RunningStage, running_stage
from tests.support.client import FINAL, ShopClient
from tests.support.postgres import fresh_databases

T = TypeVar("T")

ADMIN_TOKEN = "fault-suite-admin-token"
# Read by the orders service (ServiceSettings): the re-driver's pace.
FAST_REDRIVE = {"REDRIVE_INTERVAL": "0.3", "REDRIVE_AFTER": "1"}
# The databases a stage fixture runs on, as its `params` (the fixture's request.param).
# Every stage start on PostgreSQL costs 20-40 s on a busy machine, so by default the tests
# about concurrency run on both databases and the others on SQLite; FAULT_DATABASES=all
# (`make test-faults-all`) runs every test on both.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
DEFAULT_DATABASES = DATABASES if os.environ.get("FAULT_DATABASES") == "all" else ["sqlite"]


@dataclass
class Stage:
    """A running microservices stage, its public client and its log file."""

    running: RunningStage
    shop: ShopClient
    log: Path

    def url(self, process: str) -> str:
        """The base URL of one process of the stage (a service, or the gateway)."""
        for spec in self.running.plan.processes:
            if spec.name == process:
                return spec.url
        raise KeyError(process)

    def database(self, process: str) -> Database:
        """One service's own database (close it with dispose())."""
        for spec in self.running.plan.processes:
            if spec.name == process:
                return Database(spec.env["DATABASE_URL"])
        raise KeyError(process)

    def internal(self, process: str) -> httpx.Client:
        """A plain HTTP client for one service's own URL (its /internal endpoints)."""
        return httpx.Client(base_url=self.url(process), timeout=30.0)

    @contextmanager
    def replica(self, process: str) -> Iterator[str]:
        """A second instance of one service inside the block (same settings and database, its
        own port), as a second pod of its Deployment; it logs as `<process>-2`."""
        spec = next(s for s in self.running.plan.processes if s.name == process)
        listener = Listener()  # its own socket, bound now (stages/listeners.py)
        twin = ProcessSpec(
            f"{process}-2", list(spec.argv), listener.port, dict(spec.env), spec.ready_path,
            listener=listener,
        )  # fmt: skip
        sink = FileSink(self.log)
        try:
            with Launcher([twin], sink=sink):
                yield twin.url
        finally:
            sink.close()

    def kill(self, process: str) -> None:
        self.running.launcher.kill(process)

    def restart(self, process: str) -> None:
        self.running.launcher.restart(process)

    def terminate(self, process: str) -> None:
        """Stop one process gracefully (SIGTERM), as an orchestrator does on every redeploy:
        it stops accepting connections but finishes the requests it is serving.
        """
        self.running.launcher.send_signal(process, signal.SIGTERM)

    def is_down(self, process: str) -> bool:
        return process in self.running.launcher.failed()

    @contextmanager
    def down(self, process: str) -> Iterator[None]:
        """`process` is killed inside the block and running again after it (even on failure)."""
        self.kill(process)
        try:
            yield
        finally:
            if self.is_down(process):
                self.restart(process)

    @contextmanager
    def stopped(self, process: str, timeout: float = 15.0) -> Iterator[None]:
        """`process` is stopped gracefully at the start of the block; after it, once the
        process has finished what it was serving and exited, it is started again."""
        self.terminate(process)
        try:
            yield
        finally:
            deadline = time.monotonic() + timeout
            while not self.is_down(process) and time.monotonic() < deadline:
                time.sleep(0.05)
            # Also once it has exited: kill() drains and closes its output pipe, which
            # restart() leaves open for a process that exited on its own (ResourceWarning).
            self.kill(process)
            self.restart(process)

    def log_lines(self, process: str | None = None) -> list[str]:
        """The stage log's lines (`name | line`), optionally only those of one process."""
        lines = self.log.read_text(errors="replace").splitlines()
        if process is None:
            return lines
        return [line for line in lines if line.startswith(f"{process} | ")]

    def log_entries(self, process: str) -> list[dict[str, Any]]:
        """One process's log lines, each a JSON object (shop/telemetry/logs.py)."""
        return [json.loads(line.split(" | ", 1)[1]) for line in self.log_lines(process)]

    # --- checks every fault test ends with --------------------------------------------

    def assert_stock_conserved(self, sku: str, start: int) -> dict[str, int]:
        """Every unit of `sku` is in exactly one bucket: nothing lost, nothing made up."""
        level = self.shop.stock(sku)
        assert level["available"] + level["reserved"] + level["sold"] == start, level
        return level

    def assert_final(self, order_id: str) -> dict[str, Any]:
        """The order, read through the gateway, is confirmed or rejected (not pending)."""
        answer = self.shop.get(f"/api/orders/{order_id}")
        assert answer.status_code == 200, answer.text
        order = answer.json()
        assert order["status"] in FINAL, order
        return order


@contextmanager
def service_databases(database: str) -> Iterator[dict[str, str]]:
    """Per-service database URLs: none for "sqlite" (files in the stage's data folder),
    else a fresh PostgreSQL database per service."""
    if database == "sqlite":
        yield {}
        return
    with fresh_databases(*SERVICES) as urls:
        yield urls


@contextmanager
def microservices_stage(
    data_dir: Path,
    process_env: Mapping[str, Mapping[str, str]] | None = None,
    database: str = "sqlite",
) -> Iterator[Stage]:
    """The microservices stage with a fast re-driver, plus `process_env` per process,
    on `database` ("sqlite" or "postgresql")."""
    process_env = dict(process_env or {})
    process_env["orders"] = {**FAST_REDRIVE, **process_env.get("orders", {})}
    log = data_dir / "stage.log"
    with service_databases(database) as urls:
        options = StageOptions(
            port=0,  # any free port, bound by the plan (no race)
            data_dir=data_dir,
            database_urls=urls,
            env={"ADMIN_TOKEN": ADMIN_TOKEN, "ACCESS_LOG": "1"},  # the tests follow request ids
            process_env=process_env,
        )
        with running_stage("microservices", options, sink=FileSink(log)) as running:
            shop = ShopClient(running.url, ADMIN_TOKEN)
            try:
                yield Stage(running, shop, log)
            finally:
                shop.close()


@pytest.fixture(scope="module", params=DEFAULT_DATABASES)
def stage(request, tmp_path_factory) -> Iterator[Stage]:
    """A stage without injected faults, shared by a module's tests (each kills what it needs)."""
    data_dir = tmp_path_factory.mktemp(f"microservices-faults-{request.param}")
    with microservices_stage(data_dir, database=request.param) as running:
        yield running
