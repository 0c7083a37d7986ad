"""Run the load against a stage, or against every stage, and keep what Locust measured.

For each stage the runner

1. starts it locally with the launcher (stages.running.running_stage: migrated,
   ready and seeded, on SQLite in a fresh folder) or takes the URL it is given
   (a cluster's), whose catalog it seeds over the admin API if it is empty;
2. samples, every second, the CPU time and memory of the stage's processes (a
   stage started here: first REST_SECONDS at rest, then under load) and of
   Locust's own (loadtests.resources), and the replicas of its Kubernetes
   namespace, when one is given;
3. runs Locust headless in a process of its own, showing progress;
4. places one representative order, traced on purpose, and keeps its spans
   (loadtests.representative);
5. keeps everything in reports/<timestamp>/<stage>/: Locust's CSV files
   (stats, full history, failures, exceptions) and HTML report, the order
   outcomes, resources.csv, replicas.csv, trace.json, the stage's log and run.json;
6. stops the stage, also on Ctrl-C.

A stage started here traces only what a caller asks for (LOAD_TRACE_SAMPLE_RATIO=0:
a request without a sampled traceparent skips the instrumentation, whose cost even for
unrecorded spans would distort the comparison: benchmarks.tracing_cost); the
representative order is sent with one, so it is traced.

A comparison then writes reports/<timestamp>/report.html and prints the table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import httpx

from loadtests import replicas, report, representative, resources, results
from loadtests.locust_process import (
    FAILURES_EXIT_CODE,
    LoadSettings,
    locust_argv,
    run_locust,
)
from stages.definitions import TRACES, StageOptions
from stages.launcher import FileSink, LaunchError
from stages.running import running_stage

REPORTS = Path("reports")
# Seconds a stage started here is sampled at rest (started and seeded, no load) before
# Locust starts: its memory and idle CPU then.
REST_SECONDS = 3.0
# The share of requests a stage started here traces under load (TRACE_SAMPLE_RATIO); the
# figures that chose it are in the README's Observability section.
LOAD_TRACE_SAMPLE_RATIO = "0"


@dataclass(frozen=True)
class Target:
    """A stage to load: started here (no url) or already running at `url`."""

    stage: str
    url: str | None = None
    namespace: str | None = None  # sample this Kubernetes namespace's replicas
    admin_token: str | None = None  # to seed a running stage's empty catalog


class Progress:
    """One line per stage that says where the run is: seconds left, users, req/s."""

    def __init__(self, stream: TextIO = sys.stdout, every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every  # seconds between lines when the output is not a terminal
        self._last = 0.0
        self._width = 0

    def __call__(self, stage: str, state: dict) -> None:
        left = max(0.0, state["duration"] - state["elapsed"])
        text = (
            f"    {stage}: {left:3.0f} s left, {state['users']:3d} users, "
            f"{state['rps']:6.1f} req/s, {state['requests']} requests, "
            f"{state['failures']} failures"
        )
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        elif time.monotonic() - self._last >= self.every:
            self.stream.write(text + "\n")
            self._last = time.monotonic()
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._width = 0
        self._last = 0.0


def load_tracing() -> str:
    """The tracing setting of a stage started here, as the report states it (TRACING=0 in
    the environment, which the stage's processes inherit, turns it off)."""
    if os.environ.get("TRACING", "1").lower() in ("0", "false", "no", "off"):
        return "TRACING=0 (off)"
    return f"TRACE_SAMPLE_RATIO={LOAD_TRACE_SAMPLE_RATIO} (only the representative order traced)"


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def new_folder(root: Path = REPORTS) -> Path:
    folder = root / datetime.now().strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=False)
    return folder


@dataclass(frozen=True)
class LoadedStage:
    """A stage under load: its URL, how to ask which of its processes have exited and
    their process ids (a stage started here; a running stage's processes are not ours
    to watch)."""

    url: str
    exited: Callable[[], list[str]] = list
    pids: Callable[[], dict[str, int]] | None = None
    traces: Path | None = None  # where its processes write their spans (started here)
    tracing: str = "as the running stage is set"  # its tracing setting, for the report


# Something to do with a stage after its load run, while it still runs: (stage, name, folder).
AfterLoad = Callable[[LoadedStage, str, Path], None]


@contextmanager
def watched_stage(target: Target, folder: Path) -> Iterator[LoadedStage]:
    """The stage while it runs: started locally on a fresh SQLite folder, or the given
    URL (then its catalog is checked, and seeded if empty)."""
    if target.url:
        ensure_catalog(target.url.rstrip("/"), target.admin_token)
        yield LoadedStage(target.url.rstrip("/"))
        return
    data = Path(tempfile.mkdtemp(prefix=f"threefold-load-{target.stage}-"))
    try:
        # any free port, bound by the plan
        options = StageOptions(
            port=0, data_dir=data, env={"TRACE_SAMPLE_RATIO": LOAD_TRACE_SAMPLE_RATIO}
        )
        with running_stage(target.stage, options, sink=FileSink(folder / "stage.log")) as stage:
            yield LoadedStage(
                stage.url,
                stage.launcher.failed,
                stage.launcher.pids,
                traces=data / TRACES,
                tracing=load_tracing(),
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def stage_url(target: Target, folder: Path) -> Iterator[str]:
    """The stage's base URL while it runs (see watched_stage)."""
    with watched_stage(target, folder) as stage:
        yield stage.url


def ensure_catalog(url: str, admin_token: str | None) -> None:
    """Make sure the seeded catalog is there: add what is missing over the admin API."""
    from shop.seed import catalog  # the same 60 products and stock as the local seed

    with httpx.Client(base_url=url, timeout=30) as http:
        listed = http.get("/api/products", params={"per_page": 100}).raise_for_status().json()
        present = {item["sku"] for item in listed["items"]}
        missing = [(p, stock) for p, stock in catalog() if p.sku not in present]
        if not missing:
            return
        if not admin_token:
            raise LaunchError(
                f"{url} lacks {len(missing)} of the seeded products; give the stage's admin "
                "token to add them (make load ... ADMIN_TOKEN=..., or --admin-token)"
            )
        headers = {"Authorization": f"Bearer {admin_token}"}
        for product, stock in missing:
            body = {
                "sku": product.sku,
                "name": product.name,
                "description": product.description,
                "price_cents": product.price_cents,
                "currency": product.currency,
            }
            http.post("/api/products", json=body, headers=headers).raise_for_status()
            http.post(
                f"/api/stock/{product.sku}", json={"quantity": stock}, headers=headers
            ).raise_for_status()


def run_stage(
    target: Target,
    settings: LoadSettings,
    folder: Path,
    progress: Progress | None = None,
    order: int = 0,
    kube_context: str | None = None,
    sample_every: float = 5.0,
    then: AfterLoad | None = None,
) -> dict:
    """Load one stage; everything goes into `folder`. Returns what run.json records.

    `then`, if given, runs while the stage still runs, after a load run that ended well
    (the capacity ramp of make compare and make demo).

    A stage that cannot be started (or reached) is recorded with its error and
    the next one can go on; Ctrl-C stops everything and is raised again.
    """
    folder.mkdir(parents=True, exist_ok=True)
    run: dict = {
        "stage": target.stage,
        "order": order,
        "url": target.url,
        "namespace": target.namespace,
        "shape": settings.shape,
        "profile": settings.profile,
        "pacing": settings.pacing,
        "rate": settings.rate,
        "load_host": platform.node(),  # where Locust ran (and a local stage)
        "load_host_cpus": os.cpu_count(),
        "started_here": target.url is None,  # its processes' CPU and memory are sampled
        "started_at": None,
        "ended_at": None,
    }
    try:
        with watched_stage(target, folder) as stage:
            url = run["url"] = stage.url
            run["tracing"] = stage.tracing
            usage = _start_usage(stage, folder)
            sampling = None
            try:
                if stage.pids:
                    run["rest_started_at"] = time.time()
                    time.sleep(REST_SECONDS)
                sampling = _start_sampling(target, folder, kube_context, sample_every)
                usage.sample_now()  # the end of the rest, the start of the load
                run["started_at"] = time.time()
                code = run_locust(
                    locust_argv(url, folder, settings),
                    folder / "locust.log",
                    on_progress=(lambda state: progress(target.stage, state)) if progress else None,
                    progress_file=folder / "progress.json",
                    on_start=lambda pid: usage.sampler.add(resources.LOCUST, "locust", pid),
                )
            finally:
                run["ended_at"] = time.time()
                usage.stop()
                run["resource_sampling_errors"] = usage.errors[-5:]
                if sampling:
                    sampling.stop()
                    run["sampling_errors"] = sampling.errors[-5:]
                if progress:
                    progress.end()
            run["locust_exit_code"] = code
            # A process that died under load makes the numbers those of a broken stage
            # (loadtests.verdict); asked before the stage is stopped.
            run["exited_during_run"] = stage.exited()
            if code not in (0, FAILURES_EXIT_CODE):
                run["error"] = f"Locust exited with {code}; see {folder / 'locust.log'}"
            elif not run["exited_during_run"]:
                keep_representative(stage, target.stage, folder)
                if then:
                    then(stage, target.stage, folder)
    except (LaunchError, httpx.HTTPError) as error:
        run["error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    except KeyboardInterrupt:
        run["error"] = "interrupted"
        raise
    finally:
        (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return run


def keep_representative(stage: LoadedStage, name: str, folder: Path) -> None:
    """Place the representative order on the stage (no load on it now) and keep its trace."""
    say(f"{name}: one representative order, traced")
    found = representative.place(stage.url, name, stage.traces, stage.tracing)
    representative.write(found, folder)
    if found.reason:
        say(f"{name}: no complete trace of the representative order: {found.reason}")
    else:
        say(
            f"{name}: order {found.order_id} {found.outcome}, {len(found.spans)} spans in "
            f"{len(found.processes)} process(es), {found.end_to_end_ms:.1f} ms end to end"
        )


def _start_usage(stage: LoadedStage, folder: Path) -> resources.UsageThread:
    """Sample the stage's processes (when started here), Locust's once it runs, and the
    whole machine's CPU."""
    sampler = resources.ResourceSampler(stage.pids or dict, host=True)
    thread = resources.UsageThread(sampler, resources.UsageWriter(folder / resources.FILE_NAME))
    thread.start()
    return thread


def _start_sampling(
    target: Target, folder: Path, kube_context: str | None, every: float
) -> replicas.SamplingThread | None:
    if not target.namespace:
        return None
    from kubernetes.config import ConfigException

    try:
        api_client = replicas.api_client(kube_context)
    except ConfigException as error:
        raise LaunchError(f"no Kubernetes cluster for {target.namespace}: {error}") from error
    sampler = replicas.ReplicaSampler(target.namespace, api_client)
    thread = replicas.SamplingThread(
        sampler, replicas.TimelineWriter(folder / replicas.FILE_NAME), every
    )
    thread.start()
    return thread


def compare(
    targets: list[Target],
    settings: LoadSettings,
    folder: Path,
    kube_context: str | None = None,
    then: AfterLoad | None = None,
) -> tuple[Path, list[results.StageResult]]:
    """The same load against each target in turn (each followed by `then`, see run_stage),
    then the report. Returns its path."""
    shape = settings.describe()
    say(
        f"{len(targets)} stage(s): {', '.join(t.stage for t in targets)}; shape {settings.shape} "
        f"({settings.profile}, {shape['duration']:g} s each), pacing {settings.pacing}"
        + (f" at {settings.rate:g} tasks/s per user" if settings.pacing == "fixed" else "")
    )
    say(f"results in {folder}/")
    progress = Progress()
    for number, target in enumerate(targets, start=1):
        where = target.url or "started here on SQLite"
        say(f"[{number}/{len(targets)}] {target.stage} ({where})")
        started = time.monotonic()
        run = run_stage(
            target, settings, folder / target.stage, progress, number, kube_context, then=then
        )
        outcome = run.get("error") or "done"
        if run.get("exited_during_run"):
            outcome += f", but BROKEN: {', '.join(run['exited_during_run'])} exited under load"
        say(f"{target.stage}: {outcome} in {time.monotonic() - started:.0f} s")
        for error in run.get("sampling_errors", []):
            say(f"{target.stage}: a replica sample was missed: {error}")
    found = results.read_comparison(folder)
    return report.write(found, folder), found
