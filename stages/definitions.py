"""What each stage is made of: its processes, its one-off steps and its public URL.

A plan says what to run; the launcher runs it. Adding a stage is adding one
function here and one entry in STAGES.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from stages.launcher import ProcessSpec
from stages.listeners import LISTEN_FD, Listener

PYTHON = sys.executable
DATA = Path("data")  # each stage's SQLite files go to data/<stage>/ by default
TRACES = "traces"  # each process's spans: data/<stage>/traces/<process>-<pid>.jsonl
# Milliseconds a process batches spans before writing them (the SDK's default is 5 s): a
# trace is in the files soon after the order is final, for `make trace` and the tests.
SPAN_BATCH_DELAY_MS = "200"


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

    port: int = 8000  # the public port; 0: any free port (the plan's url says which)
    # None: data/<stage>/, so stages run one after another never share a SQLite file
    # (stages.running fills it in with in_stage_folder).
    data_dir: Path | None = None
    # Database URL per name in the stage's DATABASES (e.g. PostgreSQL); a name left out
    # gets a SQLite file in data_dir.
    database_urls: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # ADMIN_TOKEN, PAYMENT_*, ...
    # Extra environment for one process only, by process name (fault injection).
    process_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def in_stage_folder(self, stage: str) -> StageOptions:
        """These options, with data_dir set to data/<stage>/ if it was left out."""
        return self if self.data_dir else replace(self, data_dir=DATA / stage)

    def telemetry_env(self) -> dict[str, str]:
        """Where every process writes its spans (shop/telemetry), before options.env, which
        may override it (TRACING=0, TRACE_SAMPLE_RATIO=0.01, ...)."""
        if self.data_dir is None:
            raise ValueError("data_dir is not set: call in_stage_folder(stage) first")
        return {
            "TRACES_DIR": str(self.data_dir.resolve() / TRACES),
            "OTEL_BSP_SCHEDULE_DELAY": SPAN_BATCH_DELAY_MS,
        }

    def database(self, name: str) -> str:
        if name in self.database_urls:
            return self.database_urls[name]
        if self.data_dir is None:
            raise ValueError("data_dir is not set: call in_stage_folder(stage) first")
        return f"sqlite:///{self.data_dir.resolve() / name}.sqlite"


# Every process serves on a socket its plan bound (stages/listeners.py), so each port is
# taken when the plan is made and known to the peers; port 0 means any free port.


def monolith(options: StageOptions) -> StagePlan:
    url = options.database("monolith")
    listener = Listener(options.port)
    web = ProcessSpec(
        name="monolith",
        argv=[PYTHON, "-m", "gunicorn", "-c", "python:monolith.gunicorn_conf", "monolith.wsgi:app"],
        port=listener.port,
        listener=listener,
        env={
            "DATABASE_URL": url,
            "BIND": f"fd://{LISTEN_FD}",
            **options.telemetry_env(),
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


SERVICES = ("catalog", "inventory", "orders", "payments", "notifications")
# uvicorn's h11 protocol with the request-head limits and problem+json refusals of every stage.
EDGE_PROTOCOL = "shop.web.edge_protocol:EdgeProtocol"


def _uvicorn(app: str) -> list[str]:
    return [
        PYTHON, "-m", "shop.startup", "uvicorn", "--factory", app,
        "--fd", str(LISTEN_FD), "--no-access-log", "--http", EDGE_PROTOCOL,
    ]  # fmt: skip


def _per_context(options: StageOptions) -> tuple[list[list[str]], list[list[str]]]:
    """Migrate each context's own database; seed the catalog's and the inventory's."""
    migrate = [PYTHON, "-m", "shop.persistence.migrate"]
    prepare = [[*migrate, "--url", options.database(c), "--context", c] for c in SERVICES]
    seed = [PYTHON, "-m", "shop.seed", "--catalog-url", options.database("catalog"),
            "--inventory-url", options.database("inventory")]  # fmt: skip
    return prepare, [seed]


def microservices(options: StageOptions) -> StagePlan:
    """Five services, each on its own port and database, and the gateway on the public port."""
    public = Listener(options.port)  # first: a taken public port fails before anything else
    listeners = {name: Listener() for name in SERVICES}
    peers = {f"{name.upper()}_URL": listener.url for name, listener in listeners.items()}
    processes = [
        ProcessSpec(
            name=name,
            argv=_uvicorn(f"microservices.{name}.app:create_app"),
            port=listener.port,
            listener=listener,
            env={
                "DATABASE_URL": options.database(name),
                **peers,
                **options.telemetry_env(),
                **options.env,
                **options.process_env.get(name, {}),
            },
        )
        for name, listener in listeners.items()
    ]
    gateway = ProcessSpec(
        name="gateway",
        argv=_uvicorn("gateway.app:create_app"),
        port=public.port,
        listener=public,
        env={
            **peers,
            **options.telemetry_env(),
            **options.env,
            **options.process_env.get("gateway", {}),
        },
    )
    return StagePlan("microservices", gateway.url, [*processes, gateway], *_per_context(options))


# Function name (the Knative Service) -> the contexts whose databases it uses.
HTTP_FUNCTIONS = {
    "catalog-read": ("catalog",),
    "stock-read": ("inventory",),
    "order-read": ("orders",),
    "payment-read": ("payments",),
    "notification-read": ("notifications",),
    "place-order": ("orders",),
    "admin-writes": ("catalog", "inventory"),
}
EVENT_FUNCTIONS = {
    "reserve-stock": ("inventory",),
    "charge-payment": ("payments",),
    "release-stock": ("inventory",),
    "finalize-order": ("orders",),
    "commit-stock": ("inventory",),
    "notify-customer": ("notifications",),
    "redrive-orders": ("orders",),
}
# The broker's dead-letter sink: an HTTP function the broker POSTs each dead letter to,
# as Knative's broker does to the deadLetterSink the manifests name.
SINK_FUNCTIONS = {"dead-letters": ("orders",)}
PING_INTERVAL = "5"  # seconds between local pings; the cluster's PingSource fires every minute


def functions(options: StageOptions) -> StagePlan:
    """One process per function (as one pod each), the local broker, and the gateway."""
    every = {**HTTP_FUNCTIONS, **EVENT_FUNCTIONS, **SINK_FUNCTIONS}
    public = Listener(options.port)  # first: a taken public port fails before anything else
    listeners = {name: Listener() for name in every}
    urls = {name: listener.url for name, listener in listeners.items()}
    broker_listener = Listener()
    broker_url = broker_listener.url
    processes = [
        ProcessSpec(
            name=name,
            argv=[PYTHON, "-m", "shop.startup", f"functions.{name.replace('-', '_')}"],
            port=listeners[name].port,
            listener=listeners[name],
            env={
                "LISTEN_ADDRESS": f"fd://{LISTEN_FD}",
                "K_SINK": broker_url,
                "CATALOG_URL": urls["catalog-read"],
                **{f"{c.upper()}_DATABASE_URL": options.database(c) for c in contexts},
                **options.telemetry_env(),
                **options.env,
                **options.process_env.get(name, {}),
            },
            ready_path="/health/readiness",
        )
        for name, contexts in every.items()
    ]
    broker = ProcessSpec(
        name="broker",
        argv=_uvicorn("functions.broker.app:create_app"),
        port=broker_listener.port,
        listener=broker_listener,
        env={
            "BROKER_SUBSCRIBERS": json.dumps(
                {n: urls[n] for n in {**EVENT_FUNCTIONS, **SINK_FUNCTIONS}}
            ),
            "PING_INTERVAL": PING_INTERVAL,
            **options.telemetry_env(),
            **options.env,
            **options.process_env.get("broker", {}),
        },
    )
    gateway = ProcessSpec(
        name="gateway",
        argv=_uvicorn("gateway.app:create_app"),
        port=public.port,
        listener=public,
        env={
            "ROUTE_TABLE": "functions",
            "UPSTREAMS": json.dumps({n: urls[n] for n in HTTP_FUNCTIONS}),
            **options.telemetry_env(),
            **options.env,
            **options.process_env.get("gateway", {}),
        },
    )
    processes = [*processes, broker, gateway]
    return StagePlan("functions", gateway.url, processes, *_per_context(options))


STAGES: dict[str, Callable[[StageOptions], StagePlan]] = {
    "monolith": monolith,
    "microservices": microservices,
    "functions": functions,
}
# The databases each stage keeps (names for StageOptions.database_urls).
DATABASES: dict[str, tuple[str, ...]] = {
    "monolith": ("monolith",),
    "microservices": SERVICES,
    "functions": SERVICES,  # a database per context, shared by that context's functions
}
