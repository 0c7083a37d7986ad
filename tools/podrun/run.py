"""One overlay run as a kubelet would: Jobs to completion, then every server until ready."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.podrun import addresses, containers
from tools.podrun.databases import LocalPostgres
from tools.podrun.environment import Sources, argv, resolve
from tools.podrun.manifests import Container, ManifestError, Workload, render, workloads
from tools.podrun.platform import injected

OUR_IMAGES = "localhost/threefold/"
# Read through each stage's public entrypoint once its workloads are ready: the first
# product the seed Job loads (shop/seed.py).
ENTRY_CHECK = "/api/products/TF-0001"


@dataclass
class Outcome:
    workload: str
    passed: bool
    detail: str


@dataclass
class Plan:
    """What one overlay starts: each workload's main container, ready to run here."""

    stage: str
    workloads: list[Workload]
    ours: list[Workload]
    host_ports: dict[str, dict[int, int]] = field(default_factory=dict)
    names: dict[tuple[str, int], addresses.Endpoint] = field(default_factory=dict)
    cluster_hosts: set[str] = field(default_factory=set)


_PASSWORD = re.compile(r"(://[^:@/\s]+:)[^@/\s]+@")


def shown(words: list[str]) -> str:
    """A command line for the progress output, with URL passwords masked."""
    return _PASSWORD.sub(r"\1***@", " ".join(words))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plan(stage: str, objects: list[dict], say: Callable[[str], None]) -> Plan:
    """Which workloads run here (those on our images), each server on its own host port."""
    found = workloads(objects)
    ours = []
    for w in found:
        if all(c.image.startswith(OUR_IMAGES) for c in w.containers):
            ours.append(w)
        elif any(c.image.startswith(OUR_IMAGES) for c in w.containers):
            raise ManifestError(f"{w}: mixes our images with others (sidecars are not run here)")
        else:
            say(f"  not run here: {w} ({', '.join(c.image for c in w.containers)})")
    result = Plan(stage, found, ours)
    for w in ours:
        if not w.completes:
            result.host_ports[w.name] = {p: _free_port() for p in w.main.ports}
    result.names = addresses.cluster_names(objects, found)
    result.cluster_hosts = {host for host, _ in result.names}
    for obj in objects:  # every Service, selected workload or not (postgres, for one)
        if obj.get("apiVersion") == "v1" and obj.get("kind") == "Service":
            meta = obj["metadata"]
            result.cluster_hosts.update(
                addresses.spellings(meta["name"], meta.get("namespace", "default"))
            )
    return result


def _here(text: str, the_plan: Plan, database: LocalPostgres) -> str:
    text = database.rewrite(text, the_plan.cluster_hosts)
    return addresses.rewrite_urls(
        text, lambda m: addresses.peer_url(m, the_plan.names, the_plan.host_ports)
    )


def process(
    w: Workload,
    c: Container,
    the_plan: Plan,
    sources: Sources,
    database: LocalPostgres,
    image_command: Callable[[str], list[str]] = containers.image_command,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment container c of w runs with here."""
    env = resolve(c, w, sources, injected(w, sources.objects) if c is w.main else {})
    ports = the_plan.host_ports.get(w.name, {})
    env = {
        k: addresses.move_port_in_env(k, _here(v, the_plan, database), ports)
        for k, v in env.items()
    }
    words = argv(c, env, image_command(c.image))
    words = addresses.move_port_in_argv([_here(x, the_plan, database) for x in words], ports)
    return words, env


def outside_volumes(c: Container, files: list[str]) -> list[str]:
    """The files (relative to /) that lie under none of c's volume mounts."""
    mounts = [m.rstrip("/") + "/" for m in c.mounts]
    return [f"/{f}" for f in files if not any(f"/{f}".startswith(m) for m in mounts)]


def root_writes(c: Container, container: str) -> str | None:
    """What a container with readOnlyRootFilesystem wrote outside its volumes, if anything."""
    if not c.read_only_root:
        return None
    outside = outside_volumes(c, containers.written(container))
    if not outside:
        return None
    return f"readOnlyRootFilesystem, yet it wrote {', '.join(outside[:5])} (no volume there)"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 (http on 127.0.0.1)
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


class StageRun:
    """Runs one overlay; every container it made is removed by close()."""

    def __init__(
        self,
        stage: str,
        overlay: Path,
        run_id: str,
        admin_url: str,
        logs: Path,
        say: Callable[[str], None],
        ready_timeout: float = 240.0,
        job_timeout: float = 300.0,
    ) -> None:
        self.stage, self.overlay, self.say, self.logs = stage, overlay, say, logs
        self.prefix = f"tfimg-{run_id}-{stage}"
        short = re.sub(r"[^a-z0-9]", "_", stage.lower()[:5])
        self.database = LocalPostgres(admin_url, prefix=f"tfimg_{run_id}_{short}")
        self.ready_timeout, self.job_timeout = ready_timeout, job_timeout
        self.job_backoff = 1.0  # seconds between retries (the cluster's: 10 s, 20 s, ...)
        self.running: list[containers.Running] = []
        self.outcomes: list[Outcome] = []

    def run(self) -> list[Outcome]:
        self.say(f"== {self.stage}: kubectl kustomize {self.overlay}")
        objects = render(self.overlay)
        the_plan = plan(self.stage, objects, self.say)
        sources = Sources(objects)
        if not the_plan.ours:
            raise ManifestError(f"{self.overlay} has no workload on {OUR_IMAGES}* images")
        jobs = [w for w in the_plan.ours if w.completes]
        servers = [w for w in the_plan.ours if not w.completes]
        self._jobs(jobs, the_plan, sources)
        self._servers(servers, the_plan, sources)
        if all(o.passed for o in self.outcomes):
            self._entrypoints(objects, the_plan)
        return self.outcomes

    def _container(self, w: Workload, c: Container, attempt: int = 0) -> str:
        return containers.create(f"{self.prefix}-{w.name}-{c.name}-{attempt}", c.image)

    def _complete(
        self, w: Workload, c: Container, the_plan: Plan, sources: Sources, attempt: int
    ) -> tuple[bool, str]:
        try:
            words, env = process(w, c, the_plan, sources, self.database)
        except ManifestError as error:  # this workload cannot start; the others still run
            return False, str(error)
        name = self._container(w, c, attempt)
        log = self.logs / f"{self.stage}-{w.name}-{c.name}-{attempt}.log"
        running = containers.start(name, words, env, log, c.run_as_user, c.working_dir)
        try:
            code = running.process.wait(self.job_timeout)
        except subprocess.TimeoutExpired:
            running.stop()
            code = None
        try:
            if code != 0:
                return False, f"exit {code}: {shown(words)}\n{running.tail()}"
            wrote = root_writes(c, name)
            if wrote:
                return False, f"{shown(words)}: {wrote}"
            return True, f"{shown(words)}: exited 0"
        finally:
            containers.remove(name)

    def _jobs(self, jobs: list[Workload], the_plan: Plan, sources: Sources) -> None:
        """Each Job to completion. One that fails runs again after the others, as its
        backoffLimit allows: a Job that needs another's work (the seed needs the
        migrations' tables) succeeds on a later attempt, as it would in a cluster."""
        pending = {w.name: w for w in jobs}
        attempts = dict.fromkeys(pending, 0)
        while pending:
            for name, w in list(pending.items()):
                self.say(f"  job {w} (attempt {attempts[name] + 1})")
                ok, detail = True, ""
                for c in [*w.init_containers, *w.containers]:
                    ok, detail = self._complete(w, c, the_plan, sources, attempts[name])
                    if not ok:
                        break
                attempts[name] += 1
                if ok:
                    self.say(f"    completed: {detail}")
                    self.outcomes.append(Outcome(str(w), True, "completed"))
                    del pending[name]
                elif attempts[name] > w.backoff_limit:
                    self.say(f"    failed, backoffLimit {w.backoff_limit} reached")
                    self.outcomes.append(Outcome(str(w), False, detail))
                    del pending[name]
                else:
                    self.say(f"    failed: {detail.splitlines()[0]}")
            if pending:
                time.sleep(self.job_backoff)

    def _servers(self, servers: list[Workload], the_plan: Plan, sources: Sources) -> None:
        started: list[tuple[Workload, containers.Running]] = []
        for w in servers:
            for c in w.init_containers:
                ok, detail = self._complete(w, c, the_plan, sources, 0)
                if not ok:
                    self.outcomes.append(
                        Outcome(str(w), False, f"init container {c.name}: {detail}")
                    )
                    break
            else:
                try:
                    words, env = process(w, w.main, the_plan, sources, self.database)
                except ManifestError as error:  # this workload cannot start; others still run
                    self.outcomes.append(Outcome(str(w), False, str(error)))
                    continue
                name = self._container(w, w.main)
                log = self.logs / f"{self.stage}-{w.name}.log"
                running = containers.start(
                    name, words, env, log, w.main.run_as_user, w.main.working_dir
                )
                self.running.append(running)
                started.append((w, running))
                ports = ",".join(map(str, the_plan.host_ports[w.name].values()))
                self.say(f"  started {w} on 127.0.0.1:{ports}: {shown(words)}")
        for w, running in started:
            self.outcomes.append(self._probe(w, running, the_plan.host_ports[w.name]))

    def _probe(self, w: Workload, running: containers.Running, ports: dict[int, int]) -> Outcome:
        probes = [("readiness", w.main.readiness), ("liveness", w.main.liveness)]
        missing = [kind for kind, p in probes if p is None]
        if missing:
            return Outcome(str(w), False, f"no httpGet {' and '.join(missing)} probe")
        deadline = time.monotonic() + self.ready_timeout
        for kind, probe in probes:
            assert probe is not None
            if probe.port not in ports:
                return Outcome(
                    str(w), False, f"{kind} probe port {probe.port} is no container port"
                )
            url = f"http://127.0.0.1:{ports[probe.port]}{probe.path}"
            status = 0
            while status != 200:
                if running.exited() is not None:
                    return Outcome(
                        str(w),
                        False,
                        f"exited {running.exited()} before {kind} "
                        f"{probe.path} answered:\n{running.tail()}",
                    )
                if time.monotonic() > deadline:
                    return Outcome(
                        str(w),
                        False,
                        f"{kind} {probe.path} on container port "
                        f"{probe.port}: {status or 'no answer'}\n{running.tail()}",
                    )
                status = _get(url)
                if status != 200:
                    time.sleep(0.5)
            self.say(f"    {w}: {kind} {probe.path} (port {probe.port}) 200")
        wrote = root_writes(w.main, running.container)
        if wrote:
            return Outcome(str(w), False, wrote)
        return Outcome(str(w), True, "ready")

    def _entrypoints(self, objects: list[dict], the_plan: Plan) -> None:
        """Through each Ingress backend, the seed's first product: the stage answers its
        public API with its peers and databases wired as the manifests say."""
        services = addresses.service_ports(objects, the_plan.workloads)
        for obj in objects:
            if obj.get("kind") != "Ingress":
                continue
            for rule in obj["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    self.outcomes.append(self._entrypoint(obj, path["backend"], services, the_plan))

    def _entrypoint(self, ingress: dict, backend: dict, services: dict, the_plan: Plan) -> Outcome:
        service = backend["service"]
        port = service["port"].get("number", service["port"].get("name"))
        namespace = ingress["metadata"].get("namespace", "default")
        label = f"Ingress/{ingress['metadata']['name']} -> Service/{service['name']}:{port}"
        endpoint = services.get((namespace, service["name"]), {}).get(port)
        if endpoint is None:
            return Outcome(label, False, "the backend Service or port selects no workload")
        host_port = the_plan.host_ports.get(endpoint.workload, {}).get(endpoint.container_port)
        if host_port is None:
            return Outcome(
                label, False, f"{endpoint.workload} serves no port {endpoint.container_port}"
            )
        status = _get(f"http://127.0.0.1:{host_port}{ENTRY_CHECK}")
        self.say(f"  {label}: GET {ENTRY_CHECK} {status}")
        return Outcome(label, status == 200, f"GET {ENTRY_CHECK} answered {status}")

    def close(self) -> None:
        """Stop every process, remove every container of this run, drop its databases."""
        for running in self.running:
            running.stop()
        left = containers.remove_all(self.prefix)
        self.running.clear()
        try:
            self.database.drop()
        finally:
            self.say(f"  {self.stage}: stopped, {left} container(s) removed, databases dropped")
