"""A short capacity ramp against the monolith, started by the launcher: it finds a limit and
names the hot component.

Every charge waits PAYMENT_LATENCY_MS (200 ms), and the monolith places an order
in one transaction, so orders queue behind each other as they become more
frequent: with users paced at 2 tasks/s (one task in twenty an order), the
order completion p95 climbs over its 600 ms threshold within the ramp's five
steps (10 to 100 users, 8 s each), whatever else the machine runs. The ramp
stops at that step; it takes 20 to 50 s.
"""

from __future__ import annotations

import json

from loadtests import capacity_files, capacity_run, capacity_section
from loadtests.capacity import (
    GENERATOR_BOUND,
    STAGE_LIMIT,
    Capacity,
    Objective,
    Step,
    breaches,
    conclude,
    generator_bound,
    should_stop,
)
from loadtests.results import StageResult
from loadtests.runner import LoadedStage
from stages.definitions import StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

OBJECTIVE = Objective(read_p95_ms=1000, order_p95_ms=600, error_rate=0.01, carried_share=0.9)


def test_a_ramp_against_the_monolith_stops_at_its_limit_and_names_the_hot_component(tmp_path):
    folder = tmp_path / "comparison" / "monolith"
    options = StageOptions(port=0, data_dir=tmp_path / "data", env={"PAYMENT_LATENCY_MS": "200"})
    ramp = capacity_run.RampSettings(profile="short", rate=2.0, objective=OBJECTIVE)
    with running_stage("monolith", options, sink=FileSink(tmp_path / "stage.log")) as stage:
        loaded = LoadedStage(stage.url, stage.launcher.failed, stage.launcher.pids)
        result = capacity_run.ramp_stage(loaded, "monolith", folder / capacity_run.FOLDER, ramp)

    saved = capacity_files.read(folder)
    assert saved == json.loads(json.dumps(result))  # capacity.json holds what was returned
    steps = [Step.from_json(s) for s in saved["steps"]]
    assert steps, (folder / "capacity" / "locust.log").read_text()
    for s in steps:  # Locust's figures of each step, and the sampler's
        assert s.requests_per_s > 0 and s.read_p95_ms and s.read_p95_ms > 0
        assert s.offered_tasks_per_s == 2.0 * s.users
        assert s.busy.hot == "monolith" and s.busy.hot_share is not None
        assert s.busy.locust_share is not None and s.busy.host_cores is not None
    assert [s.users for s in steps] == [10, 20, 35, 60, 100][: len(steps)]

    # Closed loop: every step but the last held, and the ramp stopped at the first that did not.
    for held in range(1, len(steps)):
        assert not should_stop(steps[:held], OBJECTIVE), steps[held - 1]
    capacity = Capacity.from_json(saved["capacity"])
    assert capacity == conclude(steps, OBJECTIVE)
    assert capacity.stop_step == len(steps), "the ramp ran out of steps without a limit"
    stop = steps[-1]
    assert should_stop(steps, OBJECTIVE)

    # The limit, and the hot component at it: the monolith is one component.
    assert capacity.hot == "monolith" and capacity.hot_share == stop.busy.hot_share
    assert breaches(stop, OBJECTIVE) or generator_bound(stop)
    if generator_bound(stop):  # other work filled the machine's cores meanwhile: said so
        assert capacity.kind == GENERATOR_BOUND and capacity.lower_bound
    elif len(steps) > 1:
        assert capacity.kind == STAGE_LIMIT and not capacity.lower_bound
        assert capacity.requests_per_s == max(s.requests_per_s for s in steps[:-1])

    # The terminal table and the report's section show it.
    lines = capacity_section.terminal_rows([("monolith", saved)])
    assert capacity.headline() in lines[2]
    shown = StageResult("monolith", folder, {}, {}, {}, {}, [])
    page = capacity_section.html([shown])
    assert 'data-capacity-steps="monolith"' in page
    assert page.count("<tr><td>") == len(steps)
