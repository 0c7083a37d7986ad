"""The functions stage for the fault suite: every function, the broker and the gateway, for real.

Like the microservices stage of conftest.py (free ports, fresh SQLite files in a temporary
folder, all output in one log file), with the re-drive made fast: the broker's emulated
PingSource fires every second and redrive-orders publishes shop.order.placed again for
orders pending longer than 2 s, so a test sees a stuck saga recover in seconds. The
broker's delivery settings are the ones of k8s/functions/*.yaml, unchanged.

A `FunctionsStage` is a conftest `Stage` (kill, restart, down, log lines, the closing
checks) that can also talk CloudEvents: post an event to one function's own URL or to the
broker's ingress, read the broker's dead letters and statistics, and read what a final
order still owes from the orders database. It runs on SQLite files, or on the PostgreSQL
databases given as `database_urls`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event

from shop.persistence.database import Database
from shop.usecases import followups
from stages.definitions import StageOptions
from stages.launcher import FileSink
from stages.running import running_stage
from tests.faults.conftest import ADMIN_TOKEN, Stage
from tests.support.client import ShopClient

# Read by redrive-orders (FunctionSettings.redrive_older_than) and the broker
# (BrokerSettings.ping_interval): re-drive orders pending > 2 s, on a ping every second.
FAST_REDRIVE = {"redrive-orders": {"REDRIVE_OLDER_THAN": "2"}, "broker": {"PING_INTERVAL": "1"}}


class FunctionsStage(Stage):
    """A running functions stage: its public client, its log, and CloudEvents in and out."""

    def post_event(self, process: str, event: BaseCloudEvent) -> httpx.Response:
        """POST `event` in binary mode (as the broker delivers) to one process's own URL:
        a function, or the broker's ingress."""
        message = to_binary_event(event)
        with httpx.Client(timeout=30.0) as client:
            return client.post(self.url(process), headers=message.headers, content=message.body)

    def publish(self, event: BaseCloudEvent) -> None:
        """Send `event` into the broker through its ingress, as a function does (K_SINK)."""
        answer = self.post_event("broker", event)
        assert answer.status_code == 202, answer.text

    def broker_get(self, path: str) -> Any:
        with httpx.Client(base_url=self.url("broker"), timeout=10.0) as client:
            answer = client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def dead_letters(self) -> list[dict[str, Any]]:
        """The broker's dead-letter store (GET /dead-letters), oldest first."""
        return self.broker_get("/dead-letters")

    def dead_letters_kept(self) -> list[dict[str, Any]]:
        """What the dead-letters function (the broker's deadLetterSink) kept, newest first."""
        with httpx.Client(base_url=self.url("dead-letters"), timeout=10.0) as client:
            answer = client.get("/dead-letters", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def owed(self, order_id: str) -> set[str]:
        """The follow-up steps the orders context still waits for (read as finalize-order
        reads them: its own ORDERS_DATABASE_URL)."""
        [spec] = [p for p in self.running.plan.processes if p.name == "finalize-order"]
        database = Database(spec.env["ORDERS_DATABASE_URL"])
        try:
            with database.reading() as session:
                return followups.owed(session, order_id)
        finally:
            database.dispose()

    def trigger_stats(self, trigger: str) -> dict[str, int]:
        """The broker's counts for one trigger (GET /stats), zeros if it delivered nothing."""
        return self.broker_get("/stats")["by_trigger"].get(trigger, {})


def reply_event(answer: httpx.Response) -> BaseCloudEvent:
    """The CloudEvent a function answered with (structured or binary mode), via the SDK."""
    headers = {name.lower(): value for name, value in answer.headers.items()}
    return from_http_event(HTTPMessage(headers=headers, body=answer.content))


@contextmanager
def functions_stage(
    data_dir: Path,
    process_env: Mapping[str, Mapping[str, str]] | None = None,
    database_urls: Mapping[str, str] | None = None,
) -> Iterator[FunctionsStage]:
    """The functions stage with a fast re-drive, plus `process_env` per process."""
    merged: dict[str, Mapping[str, str]] = dict(process_env or {})
    for process, env in FAST_REDRIVE.items():
        merged[process] = {**env, **merged.get(process, {})}
    options = StageOptions(
        port=0,  # any free port, bound by the plan (no race)
        data_dir=data_dir,
        database_urls=dict(database_urls or {}),
        env={"ADMIN_TOKEN": ADMIN_TOKEN},
        process_env=merged,
    )
    log = data_dir / "stage.log"
    with running_stage("functions", options, sink=FileSink(log)) as running:
        shop = ShopClient(running.url, ADMIN_TOKEN)
        try:
            yield FunctionsStage(running, shop, log)
        finally:
            shop.close()
