"""Run a stage plan: prepare, start, optionally seed, stop. Used by make, the demo and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from stages.definitions import DATABASES, STAGES, StageOptions, StagePlan
from stages.launcher import Launcher, Sink, run_step


def plan(stage: str, options: StageOptions) -> StagePlan:
    try:
        return STAGES[stage](options.in_stage_folder(stage))
    except KeyError:
        raise SystemExit(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}") from None


@dataclass
class RunningStage:
    plan: StagePlan
    launcher: Launcher

    @property
    def url(self) -> str:
        return self.plan.url


@contextmanager
def running_stage(
    stage: str, options: StageOptions, sink: Sink | None = None, seed: bool = True
) -> Iterator[RunningStage]:
    """The stage, migrated, started, ready and (by default) seeded; stopped on exit.

    Its ports are taken when the plan is made (a taken one fails here, before any step).
    """
    options = options.in_stage_folder(stage)
    stage_plan = plan(stage, options)
    launcher = Launcher(stage_plan.processes, sink=sink)
    try:
        if options.data_dir and any(d not in options.database_urls for d in DATABASES[stage]):
            options.data_dir.mkdir(parents=True, exist_ok=True)  # for the SQLite files
        for step in stage_plan.prepare:
            run_step(step)
        launcher.start()
        if seed:
            for step in stage_plan.seed:
                run_step(step)
        launcher.check()  # a process that died while seeding fails the launch too
        yield RunningStage(stage_plan, launcher)
    finally:
        launcher.stop()  # also closes the sockets of a plan that never started
