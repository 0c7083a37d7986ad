"""The fault suite's stages: the microservices stage started for real, with faults injected.

Each stage runs on free ports and fresh SQLite files in a temporary folder, with all its
output in one log file (`Stage.log`). The orders service re-drives stuck sagas fast
(every 0.3 s, for orders pending longer than 1 s) so a test sees the recovery in seconds.
Faults are injected by environment (slow payments, short timeouts) or by killing one
process and starting it again (`Stage.down`).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from stages.definitions import StageOptions
from stages.launcher import FileSink
from stages.running import RunningStage, running_stage
from tests.support.client import FINAL, ShopClient

T = TypeVar("T")

ADMIN_TOKEN = "fault-suite-admin-token"
# Read by the orders service (ServiceSettings): the re-driver's pace.
FAST_REDRIVE = {"REDRIVE_INTERVAL": "0.3", "REDRIVE_AFTER": "1"}


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

    def internal(self, process: str) -> httpx.Client:
        """A plain HTTP client for one service's own URL (its /internal endpoints)."""
        return httpx.Client(base_url=self.url(process), timeout=30.0)

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
def microservices_stage(
    data_dir: Path, process_env: Mapping[str, Mapping[str, str]] | None = None
) -> Iterator[Stage]:
    """The microservices stage with a fast re-driver, plus `process_env` per process."""
    process_env = dict(process_env or {})
    process_env["orders"] = {**FAST_REDRIVE, **process_env.get("orders", {})}
    options = StageOptions(
        port=0,  # any free port, bound by the plan (no race)
        data_dir=data_dir,
        env={"ADMIN_TOKEN": ADMIN_TOKEN},
        process_env=process_env,
    )
    log = data_dir / "stage.log"
    with running_stage("microservices", options, sink=FileSink(log)) as running:
        shop = ShopClient(running.url, ADMIN_TOKEN)
        try:
            yield Stage(running, shop, log)
        finally:
            shop.close()


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Iterator[Stage]:
    """A stage without injected faults, shared by a module's tests (each kills what it needs)."""
    with microservices_stage(tmp_path_factory.mktemp("microservices-faults")) as running:
        yield running
