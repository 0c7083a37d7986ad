"""One chaos run: the stage started here, Locust's shoppers, faults on a schedule, then the
reconciliation of what the stage's databases hold.

1. start the stage (launcher: migrated, seeded, ready) on SQLite files in the run folder, or
   on the PostgreSQL databases given; fast re-drive settings, the provider's latency and
   failure rate on the process that charges;
2. read each sku's stock (the reconciliation's starting point);
3. run the load (loadtests/locustfile.py, a process of its own) while a FaultInjector kills,
   restarts, pauses and resumes processes, each fault printed as it happens;
4. stop the faults, wait (bounded, with progress) until no order is pending and no follow-up
   of a final order is outstanding;
5. reconcile, print the report and keep it beside the load's files:
   reports/<timestamp>/<stage>/reconciliation.txt (and .json), faults.json, stage.log,
   Locust's CSV and HTML files, run.json; reports/<timestamp>/report.html.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from loadtests import report, results
from loadtests.chaos.faults import (
    PAYMENTS_PROCESS,
    PLANS,
    Fault,
    FaultEvent,
    FaultInjector,
    gunicorn_workers,
)
from loadtests.chaos.ledger import Ledger, context_urls, read_ledger
from loadtests.chaos.reconcile import Reconciliation, oldest_pending, outstanding, reconcile
from loadtests.chaos.stage_log import error_notes
from loadtests.locust_process import FAILURES_EXIT_CODE, LoadSettings, locust_argv, run_locust
from loadtests.runner import Progress, say
from stages.definitions import DATABASES, StageOptions
from stages.launcher import FileSink
from stages.running import RunningStage, running_stage

# Re-drive faster than the defaults, so that the wait after the load is short. The
# microservices' re-driver resumes orders pending > 2 s every 0.5 s (defaults 5 s, 2 s);
# the functions' ping comes every second (5 s locally), redrive-orders republishes orders
# pending > 3 s (30 s), and a charge left pending by a killed attempt is cancelled after 8 s
# (20 s; still longer than the longest pause plus the provider's latency). The orders
# service's call timeouts are shorter too (0.5 s to connect, 1.5 s per call; defaults 1 s and
# 3 s): its saga lease is derived from them (ServiceSettings.saga_lease, 38 s instead of 63 s),
# and an order whose saga died with a killed orders process is resumed once that lease ends.
FAST_RECOVERY: dict[str, dict[str, dict[str, str]]] = {
    "monolith": {},
    "microservices": {
        "orders": {
            "REDRIVE_INTERVAL": "0.5",
            "REDRIVE_AFTER": "2",
            "CONNECT_TIMEOUT": "0.5",
            "CALL_TIMEOUT": "1.5",
        }
    },
    "functions": {
        "broker": {"PING_INTERVAL": "1"},
        "redrive-orders": {"REDRIVE_OLDER_THAN": "3"},
        "charge-payment": {"CHARGE_STALE_AFTER": "8"},
    },
}
DEFAULT_LOAD = LoadSettings(shape="steady", profile="short", pacing="fixed", rate=3.0)


@dataclass(frozen=True)
class ChaosSettings:
    load: LoadSettings = DEFAULT_LOAD
    every: float = 4.0  # seconds between the end of one fault and the start of the next
    first_after: float = 3.0  # seconds into the load before the first fault
    latency_ms: int = 200  # PAYMENT_LATENCY_MS of the process that charges
    failure_rate: float = 0.3  # PAYMENT_FAILURE_RATE of the process that charges
    wait: float = 60.0  # bound on the wait for the stage to settle after the load
    plan: tuple[Fault, ...] | None = None  # default: PLANS[stage]


@dataclass
class ChaosResult:
    stage: str
    folder: Path
    reconciliation: Reconciliation | None = None
    faults: list[FaultEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the run itself went wrong

    @property
    def passed(self) -> bool:
        return not self.problems and self.reconciliation is not None and self.reconciliation.passed


def fault_printer(stream=sys.stdout) -> Callable[[FaultEvent], None]:
    """Print a fault on a line of its own, also over the load's progress line on a terminal."""
    clear = "\r\033[K" if stream.isatty() else ""

    def show(event: FaultEvent) -> None:
        stream.write(f"{clear}==> {event.line()}\n")
        stream.flush()

    return show


def process_env(stage: str, settings: ChaosSettings, folder: Path) -> dict[str, dict[str, str]]:
    env: dict[str, dict[str, str]] = {k: dict(v) for k, v in FAST_RECOVERY[stage].items()}
    provider = {
        "PAYMENT_LATENCY_MS": str(settings.latency_ms),
        "PAYMENT_FAILURE_RATE": f"{settings.failure_rate:g}",
    }
    env.setdefault(PAYMENTS_PROCESS[stage], {}).update(provider)
    if stage == "monolith":  # the master's pid, to find its workers (kill-worker)
        env["monolith"]["GUNICORN_CMD_ARGS"] = f"--pid {folder.resolve() / 'gunicorn.pid'}"
    if stage == "functions":  # every dead letter, also across a broker restart
        env["broker"]["DEAD_LETTER_FILE"] = str(folder.resolve() / "dead-letters.jsonl")
    return env


def read_dead_letters(folder: Path) -> list[dict]:
    path = folder / "dead-letters.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def settle(urls: Mapping[str, str], bound: float, every: float = 5.0) -> tuple[Ledger, bool]:
    """Read the databases until nothing is outstanding (see reconcile.outstanding) or `bound`
    seconds have passed, saying what is left every `every` seconds. Returns the last read."""
    started = time.monotonic()
    last_said = started
    while True:
        ledger = read_ledger(urls)
        left = outstanding(ledger)
        waited = time.monotonic() - started
        if not any(left.values()):
            say(f"settled: no order pending, no follow-up outstanding (waited {waited:.0f} s)")
            return ledger, True
        oldest = oldest_pending(ledger, datetime.now(UTC))
        text = ", ".join(f"{n} {what}" for what, n in left.items() if n) + (
            f" (oldest pending {oldest:.0f} s)" if oldest is not None else ""
        )
        if waited >= bound:
            say(f"not settled after {bound:g} s: {text}")
            return ledger, False
        if time.monotonic() - last_said >= every or waited == 0:
            say(f"waiting: {text}; {bound - waited:.0f} s left")
            last_said = time.monotonic()
        time.sleep(0.5)


def _run_record(stage: str, settings: ChaosSettings, plan: tuple[Fault, ...], where: str) -> dict:
    """What run.json keeps: the load runner's keys (the report reads them) and the chaos."""
    return {
        "stage": stage,
        "order": 1,
        "url": None,
        "shape": settings.load.shape,
        "profile": settings.load.profile,
        "pacing": settings.load.pacing,
        "rate": settings.load.rate,
        "load_host": platform.node(),
        "started_at": None,
        "ended_at": None,
        "chaos": {
            "plan": [asdict(f) for f in plan],
            "every": settings.every,
            "payment_latency_ms": settings.latency_ms,
            "payment_failure_rate": settings.failure_rate,
            "recovery_settings": FAST_RECOVERY[stage],
            "databases": where,
        },
    }


def _announce(
    stage: str, settings: ChaosSettings, plan: tuple[Fault, ...], duration: float
) -> None:
    say(
        f"chaos on {stage}: {settings.load.shape} load ({duration:g} s), a fault every "
        f"{settings.every:g} s from {settings.first_after:g} s: "
        + ", ".join(f"{f.action} {f.target}" for f in plan)
    )
    say(
        f"provider on {PAYMENTS_PROCESS[stage]}: PAYMENT_LATENCY_MS={settings.latency_ms}, "
        f"PAYMENT_FAILURE_RATE={settings.failure_rate:g}; faster recovery: "
        + (json.dumps(FAST_RECOVERY[stage]) if FAST_RECOVERY[stage] else "none needed")
    )


def _load_under_faults(
    running: RunningStage,
    injector: FaultInjector,
    settings: ChaosSettings,
    folder: Path,
    run: dict,
) -> list[str]:
    """Locust against the stage while the injector works; what went wrong with the run."""
    progress = Progress()
    run["started_at"] = time.time()
    injector.start()
    try:
        code = run_locust(
            locust_argv(running.url, folder, settings.load),
            folder / "locust.log",
            on_progress=lambda state: progress(run["stage"], state),
            progress_file=folder / "progress.json",
        )
    finally:
        injector.stop()
        progress.end()
        run["ended_at"] = time.time()
        (folder / "faults.json").write_text(json.dumps(injector.as_list(), indent=2))
    run["locust_exit_code"] = code
    problems = []
    if code not in (0, FAILURES_EXIT_CODE):
        problems.append(f"Locust exited with {code}; see {folder / 'locust.log'}")
    problems += [f"{name} did not come back after a fault" for name in injector.broken]
    problems += [
        f"{e.target} exited on its own at +{e.at:.1f} s"
        for e in injector.events
        if e.what == "exited on its own"
    ]
    if not injector.injected():
        problems.append("no fault was injected: the load ended first")
    return problems


def run_chaos(
    stage: str,
    settings: ChaosSettings,
    folder: Path,
    database_urls: Mapping[str, str] | None = None,
    where: str | None = None,
) -> ChaosResult:
    """One run against `stage`, its files in `folder` (reports/<timestamp>/<stage>).

    `database_urls` ({name: url} for the names of DATABASES[stage]) puts the stage on those
    databases; without them it runs on SQLite files in folder/data.
    """
    folder.mkdir(parents=True, exist_ok=True)
    result = ChaosResult(stage, folder)
    plan = settings.plan or PLANS[stage]
    shape = settings.load.describe()  # (asked of a child process: loadtests.shapes imports locust)
    options = StageOptions(
        port=0,  # any free port, bound by the plan (no race)
        data_dir=folder / "data",
        database_urls=dict(database_urls or {}),
        process_env=process_env(stage, settings, folder),
    )
    names = DATABASES[stage]
    urls = context_urls(names, {name: options.database(name) for name in names})
    where = where or f"SQLite files in {options.data_dir.resolve()}/"
    run = _run_record(stage, settings, plan, where)
    _announce(stage, settings, plan, shape["duration"])
    say(f"databases: {where}")
    say(f"results in {folder}/")
    injector: FaultInjector | None = None
    try:
        with running_stage(stage, options, sink=FileSink(folder / "stage.log")) as running:
            run["url"] = running.url
            initial = read_ledger(urls).stock_totals()
            injector = FaultInjector(
                running.launcher,
                plan,
                every=settings.every,
                first_after=settings.first_after,
                until=shape["stages"][-1]["duration"],  # none in the drain at the end
                on_event=fault_printer(),
                workers=lambda _target: gunicorn_workers(folder / "gunicorn.pid"),
            )
            result.faults = injector.events
            result.problems += _load_under_faults(running, injector, settings, folder, run)
            say("load over, faults stopped; waiting for the stage to settle")
            ledger, _settled = settle(urls, settings.wait)
            result.problems += [
                f"{name} exited on its own after the load" for name in running.launcher.failed()
            ]
            if not ledger.orders:
                result.problems.append("no order was placed: the run proves nothing")
            result.reconciliation = reconcile(
                stage, where, ledger, initial, dead_letters=read_dead_letters(folder)
            )
    finally:
        if injector is not None:
            injector.close()  # after the stage: it started some of the stage's processes
        run["error"] = "; ".join(result.problems) or None
        (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    result.reconciliation.notes += error_notes(folder / "stage.log")
    _keep(result, folder)
    return result


def _keep(result: ChaosResult, folder: Path) -> None:
    """Print the reconciliation and keep it, with the load report, in the run's folder."""
    assert result.reconciliation is not None
    text = result.reconciliation.text()
    (folder / "reconciliation.txt").write_text(text)
    (folder / "reconciliation.json").write_text(result.reconciliation.json())
    print()
    print(text)
    for problem in result.problems:
        say(f"the run: {problem}")
    report.write(results.read_comparison(folder.parent), folder.parent)
