"""Start a stage for a test session: the launcher, free ports, a fresh database."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from stages.definitions import DATABASES, TRACES, StageOptions
from stages.launcher import FileSink
from stages.running import running_stage
from tests.support.client import ShopClient
from tests.support.postgres import fresh_databases


def start_stage(
    stack: ExitStack, name: str, backend: str, data_dir: Path, admin_token: str
) -> ShopClient:
    """The stage started for real and seeded, stopped when `stack` closes.

    SQLite files in `data_dir`, or new PostgreSQL databases made here and dropped
    after (backend "postgres"); its processes' output goes to `data_dir/stage.log`.
    """
    database_urls = {}
    if backend == "postgres":
        database_urls = stack.enter_context(fresh_databases(*DATABASES[name]))
    options = StageOptions(
        port=0,  # any free port, bound by the plan (no race)
        data_dir=data_dir,
        database_urls=database_urls,
        # every process's line per request (off by default): the contract checks what it writes
        env={"ADMIN_TOKEN": admin_token, "ACCESS_LOG": "1"},
    )
    log = data_dir / "stage.log"
    running = stack.enter_context(running_stage(name, options, sink=FileSink(log)))
    client = ShopClient(running.url, admin_token)
    client.stage, client.log_file = name, log
    client.traces_dir = data_dir / TRACES  # each process's spans (shop/telemetry)
    client.processes = {p.name: p.url for p in running.plan.processes}  # for their /metrics
    stack.callback(client.close)
    return client
