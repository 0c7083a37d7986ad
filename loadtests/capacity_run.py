"""The capacity ramp against one stage: raise the load step by step until the objective breaks.

One Locust process runs the `ramp` shape (loadtests.shapes: more users at
each step, each paced at a fixed rate) and writes each finished step's own
figures to steps.jsonl (the locustfile's StepRecorder). Meanwhile the
resource sampler (loadtests.resources) reads the stage's processes, Locust's
and the machine's CPU every second. Once a step has ended and a sample covers
it, this module adds that step's CPU (the hot component, Locust's busiest
process, the machine's busy cores), prints the step, and asks
loadtests.capacity whether to go on; if not, Locust is stopped there. This is
the closed loop: the next step runs only while the previous ones held.

Everything goes into `<stage folder>/capacity/`: Locust's files, steps.jsonl,
resources.csv, and capacity.json (the objective, the steps and the conclusion)
that the report and the terminal table read (loadtests.capacity_section).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from loadtests import resources
from loadtests.capacity import Busy, Objective, Step, conclude, should_stop, step_line
from loadtests.capacity_files import FOLDER, RESULT_FILE, STEPS_FILE
from loadtests.locust_process import LoadSettings, StopLoad, locust_argv, run_locust
from loadtests.resource_use import window_use
from loadtests.runner import LoadedStage, Target, say, watched_stage
from stages.launcher import LaunchError


@dataclass(frozen=True)
class RampSettings:
    """How to ramp: the `ramp` shape's profile (short: 5 steps of 8 s; full: 10 of 20 s), the
    tasks/s each user is paced at, and the objective a step must meet."""

    profile: str = "short"
    rate: float = 10.0
    objective: Objective = field(default_factory=Objective)

    def load(self) -> LoadSettings:
        return LoadSettings(shape="ramp", profile=self.profile, pacing="fixed", rate=self.rate)


class StepJudge:
    """Reads the steps Locust finished, adds their CPU from resources.csv, prints each one
    and decides whether the ramp goes on."""

    def __init__(self, folder: Path, objective: Objective, total: int, out: Callable) -> None:
        self.folder = folder
        self.objective = objective
        self.total = total
        self.out = out
        self.steps: list[Step] = []
        self.stopped = False

    def poll(self, final: bool = False) -> bool:
        """Take in the steps finished since the last call (a step waits for a resource
        sample past its end, unless `final`); True once the ramp should stop."""
        lines = _lines(self.folder / STEPS_FILE)
        samples = None
        while not self.stopped and len(self.steps) < len(lines):
            data = lines[len(self.steps)]
            samples = samples if samples is not None else _samples(self.folder)
            if not final and not any(s.time >= data["ended_at"] for s in samples):
                break  # the sampler has not read past this step yet
            step = Step.from_json({**data, "busy": asdict(_busy(samples, data))})
            self.steps.append(step)
            self.out(step_line(step, self.objective, self.total))
            self.stopped = should_stop(self.steps, self.objective)
        return self.stopped


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text.splitlines()[: text.count("\n")] if line]


def _samples(folder: Path) -> list[resources.ProcessUsage]:
    try:
        return resources.read_csv(folder / resources.FILE_NAME)
    except (OSError, ValueError, TypeError, KeyError):  # a row half written: next time
        return []


def _busy(samples: list[resources.ProcessUsage], step: dict) -> Busy:
    use = window_use(samples, step["started_at"], step["ended_at"])
    if use is None:
        return Busy(cpus=os.cpu_count())
    hot = use.hot
    return Busy(
        hot=hot.name if hot else None,
        hot_share=hot.busiest_peak if hot else None,
        stage_cores=sum(c.cores for c in use.components) if use.components else None,
        locust_share=use.locust.busiest_peak if use.locust else None,
        locust_cores=use.locust.cores if use.locust else None,
        host_cores=use.host.cores if use.host else None,
        cpus=os.cpu_count(),
    )


def ramp_stage(stage: LoadedStage, name: str, folder: Path, ramp: RampSettings) -> dict:
    """Ramp against a running stage; everything goes into `folder`. Returns capacity.json's
    content."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = ramp.load()
    total = len(settings.describe()["stages"])
    say(f"{name}: capacity ramp, {total} steps, objective: {ramp.objective.describe()}")
    sampler = resources.ResourceSampler(stage.pids or dict, host=True)
    usage = resources.UsageThread(sampler, resources.UsageWriter(folder / resources.FILE_NAME))
    judge = StepJudge(folder, ramp.objective, total, lambda line: print(line, flush=True))

    def on_progress(_state: dict) -> None:
        if judge.poll():
            raise StopLoad

    result: dict = {
        "stage": name,
        "profile": ramp.profile,
        "rate": ramp.rate,
        "planned_steps": total,
        "objective": asdict(ramp.objective),
        "started_at": time.time(),
    }
    usage.start()
    try:
        result["locust_exit_code"] = run_locust(
            [*locust_argv(stage.url, folder, settings), "--steps-file", str(folder / STEPS_FILE)],
            folder / "locust.log",
            on_progress=on_progress,
            progress_file=folder / "progress.json",
            on_start=lambda pid: sampler.add(resources.LOCUST, "locust", pid),
        )
    finally:
        usage.stop()
        judge.poll(final=True)
        result["ended_at"] = time.time()
        result["steps"] = [s.to_json() for s in judge.steps]
        capacity = conclude(judge.steps, ramp.objective)
        result["capacity"] = capacity.to_json()
        (folder / RESULT_FILE).write_text(json.dumps(result, indent=2) + "\n")
    say(f"{name}: capacity {capacity.headline()}: {capacity.limit()}")
    return result


def run_capacity(target: Target, ramp: RampSettings, folder: Path) -> dict:
    """Start the stage (or take its URL) and ramp against it: `make capacity`."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with watched_stage(target, folder) as stage:
            return ramp_stage(stage, target.stage, folder / FOLDER, ramp)
    except (LaunchError, httpx.HTTPError) as error:
        failed = {"stage": target.stage, "error": f"{type(error).__name__}: {error}"}
        (folder / FOLDER).mkdir(parents=True, exist_ok=True)
        (folder / FOLDER / RESULT_FILE).write_text(json.dumps(failed, indent=2) + "\n")
        return failed


def after_load(ramp: RampSettings) -> Callable[[LoadedStage, str, Path], None]:
    """For runner.compare: ramp against each stage right after its load run, while it runs."""

    def then(stage: LoadedStage, name: str, folder: Path) -> None:
        try:
            ramp_stage(stage, name, folder / FOLDER, ramp)
        except (OSError, ValueError, TimeoutError) as error:  # the load run's results stand
            say(f"{name}: the capacity ramp failed: {type(error).__name__}: {error}")
            failed = {"stage": name, "error": f"{type(error).__name__}: {error}"}
            (folder / FOLDER).mkdir(parents=True, exist_ok=True)
            (folder / FOLDER / RESULT_FILE).write_text(json.dumps(failed, indent=2) + "\n")

    return then
