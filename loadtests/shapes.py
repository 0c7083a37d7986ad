"""The load shapes, selectable by name: steady, step, spike, idle-burst (and smoke, brief, ramp).

Each shape is a list of stages in a `LoadTestShape`, in two profiles: `full`
(minutes, for a cluster) and `short` (about 45 s, for the demo and a laptop).
This module imports locust, which monkey-patches the standard library with
gevent on import: only the locustfile imports it. Other processes ask it in a
child process (`python -m loadtests.shapes step --profile short` prints the
stages as JSON).
"""

from __future__ import annotations

import argparse
import json
from typing import ClassVar

from locust import LoadTestShape

Stage = dict[str, float]
DRAIN = 3.0  # seconds with no users after the last stage
DRAIN_STOP_RATE = 50.0  # users stopped per second when the drain begins


class StagedShape(LoadTestShape):
    """Users over time as a list of stages, walked in order.

    Each stage is a dict with these keys:

        duration   -- seconds since the start of the test at which this stage ENDS (the
                      stages are cumulative, as in Locust's own StagesShape example)
        users      -- how many users run during this stage (0: idle, nobody is sent)
        spawn_rate -- users started (or stopped) per second to reach `users`

    `stages` is the full profile, `short` the one the demo runs. After the last
    stage every shape drains for DRAIN seconds with no users: the orders in
    flight finish, and Locust's CSV files (written every second) hold every
    entry before the test stops.
    """

    abstract: ClassVar[bool] = True
    stages: ClassVar[list[Stage]] = []
    short: ClassVar[list[Stage]] = []

    def __init__(self, profile: str = "full") -> None:
        super().__init__()
        self.profile = profile

    @classmethod
    def stages_of(cls, profile: str) -> list[Stage]:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
        return cls.short if profile == "short" else cls.stages

    @classmethod
    def duration(cls, profile: str) -> float:
        """Seconds from the start until the test stops, the drain included."""
        return cls.stages_of(profile)[-1]["duration"] + DRAIN

    def at(self, run_time: float) -> tuple[int, float] | None:
        """(users, spawn_rate) at `run_time` seconds, or None once the test is over."""
        for stage in self.stages_of(self.profile):
            if run_time < stage["duration"]:
                return int(stage["users"]), float(stage["spawn_rate"])
        if run_time < self.duration(self.profile):
            return 0, DRAIN_STOP_RATE
        return None

    def tick(self) -> tuple[int, float] | None:
        return self.at(self.get_run_time())


class Steady(StagedShape):
    """The same number of users all the time: the baseline."""

    abstract = False
    stages: ClassVar[list[Stage]] = [{"duration": 300, "users": 20, "spawn_rate": 5}]
    short: ClassVar[list[Stage]] = [{"duration": 45, "users": 10, "spawn_rate": 5}]


class Step(StagedShape):
    """Rising steps of users: where does latency start to climb, when do replicas follow?"""

    abstract = False
    stages: ClassVar[list[Stage]] = [
        {"duration": 120, "users": 10, "spawn_rate": 5},
        {"duration": 240, "users": 20, "spawn_rate": 5},
        {"duration": 360, "users": 30, "spawn_rate": 5},
        {"duration": 480, "users": 40, "spawn_rate": 5},
        {"duration": 600, "users": 50, "spawn_rate": 5},
    ]
    short: ClassVar[list[Stage]] = [
        {"duration": 15, "users": 5, "spawn_rate": 5},
        {"duration": 30, "users": 10, "spawn_rate": 5},
        {"duration": 45, "users": 15, "spawn_rate": 5},
    ]


class Spike(StagedShape):
    """A calm base, a sudden spike of users started at once, and calm again."""

    abstract = False
    stages: ClassVar[list[Stage]] = [
        {"duration": 120, "users": 10, "spawn_rate": 5},
        {"duration": 180, "users": 60, "spawn_rate": 60},
        {"duration": 300, "users": 10, "spawn_rate": 60},
    ]
    short: ClassVar[list[Stage]] = [
        {"duration": 15, "users": 4, "spawn_rate": 4},
        {"duration": 30, "users": 16, "spawn_rate": 16},
        {"duration": 45, "users": 4, "spawn_rate": 16},
    ]


class IdleBurst(StagedShape):
    """Nobody at all, then a burst: Knative scales a function to zero, then from zero.

    The full profile's idle stage (150 s) is longer than Knative's default
    stable window plus scale-to-zero grace period (60 s + 30 s), so the burst
    meets no warm pod; the short one only shows the burst.
    """

    abstract = False
    stages: ClassVar[list[Stage]] = [
        {"duration": 150, "users": 0, "spawn_rate": 1},
        {"duration": 270, "users": 40, "spawn_rate": 40},
    ]
    short: ClassVar[list[Stage]] = [
        {"duration": 15, "users": 0, "spawn_rate": 1},
        {"duration": 45, "users": 12, "spawn_rate": 12},
    ]


class Smoke(StagedShape):
    """Two users for ten seconds, in both profiles: does everything answer? (the tests use it)"""

    abstract = False
    stages: ClassVar[list[Stage]] = [{"duration": 10, "users": 2, "spawn_rate": 2}]
    short: ClassVar[list[Stage]] = stages


class Brief(StagedShape):
    """Eight users for 20 s, in both profiles: orders all the time, briefly (the chaos test)."""

    abstract = False
    stages: ClassVar[list[Stage]] = [{"duration": 20, "users": 8, "spawn_rate": 8}]
    short: ClassVar[list[Stage]] = stages


def _ramp(users: list[int], seconds: float) -> list[Stage]:
    return [
        {"duration": seconds * (i + 1), "users": n, "spawn_rate": RAMP_SPAWN_RATE}
        for i, n in enumerate(users)
    ]


RAMP_SPAWN_RATE = 100.0  # users started per second: each step reaches its users at once
RAMP_SETTLE = 2.0  # seconds at the start of each ramp step left out of its figures


class Ramp(StagedShape):
    """The capacity ramp (make capacity): more users at each step, each paced at a fixed rate.

    loadtests.capacity_run stops Locust as soon as a step breaks the objective, so the
    later steps run only while the earlier ones held. Each step's first RAMP_SETTLE
    seconds (users starting, their first catalog page) are left out of its figures.
    """

    abstract = False
    stages: ClassVar[list[Stage]] = _ramp([10, 15, 20, 30, 40, 55, 75, 100, 130, 170], 20)
    short: ClassVar[list[Stage]] = _ramp([10, 20, 35, 60, 100], 8)


SHAPES: dict[str, type[StagedShape]] = {
    "steady": Steady,
    "step": Step,
    "spike": Spike,
    "idle-burst": IdleBurst,
    "smoke": Smoke,
    "brief": Brief,
    "ramp": Ramp,
}
PROFILES = ("full", "short")


def describe(name: str, profile: str) -> dict:
    """The named shape's stages and duration, as plain data."""
    shape = SHAPES[name]
    return {
        "shape": name,
        "profile": profile,
        "duration": shape.duration(profile),
        "stages": shape.stages_of(profile),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.shapes", description="print load shapes' stages as JSON"
    )
    parser.add_argument("shape", choices=list(SHAPES), nargs="?", help="default: every shape")
    parser.add_argument("--profile", choices=PROFILES, default="full")
    args = parser.parse_args(argv)
    if args.shape:
        print(json.dumps(describe(args.shape, args.profile)))
    else:
        print(json.dumps([describe(name, p) for name in SHAPES for p in PROFILES]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
