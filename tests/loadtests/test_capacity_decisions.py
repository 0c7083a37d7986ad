"""The capacity ramp's decisions on synthetic steps: when to stop, what counts as sustained,
when Locust or the machine (not the stage) was the bottleneck, and the conclusion."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from loadtests import report, results
from loadtests.capacity import (
    BELOW_RAMP,
    GENERATOR_BOUND,
    NO_DATA,
    NOT_REACHED,
    STAGE_LIMIT,
    Busy,
    Capacity,
    Objective,
    Step,
    breaches,
    conclude,
    generator_bound,
    should_stop,
    sustained,
)
from loadtests.capacity_section import paragraph, ratio, terminal_rows
from tests.loadtests.recorded_kubernetes import FIXTURES

OBJECTIVE = Objective(read_p95_ms=200, order_p95_ms=800, error_rate=0.01, carried_share=0.9)
QUIET = Busy(hot="gateway", hot_share=0.5, stage_cores=0.9, locust_share=0.3,
             locust_cores=0.3, host_cores=1.3, cpus=2)  # fmt: skip


def step(number: int = 1, users: int = 10, **changes) -> Step:
    """A step that held comfortably: 10 tasks/s per user, all carried, fast, no errors."""
    values = {
        "number": number,
        "users": users,
        "seconds": 6.0,
        "offered_tasks_per_s": users * 10.0,
        "carried_tasks_per_s": users * 10.0,
        "requests_per_s": users * 15.5,
        "read_p95_ms": 40.0,
        "order_p95_ms": 120.0,
        "orders": users * 3,
        "error_rate": 0.0,
        "busy": QUIET,
    }
    return Step(**{**values, **changes})


def test_a_step_within_every_threshold_is_sustained():
    assert breaches(step(), OBJECTIVE) == []
    assert sustained(step(), OBJECTIVE)
    # The thresholds are inclusive.
    edge = step(read_p95_ms=200, order_p95_ms=800, error_rate=0.01, carried_tasks_per_s=90)
    assert sustained(edge, OBJECTIVE)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"read_p95_ms": 201}, "read p95 201 ms > 200"),
        ({"order_p95_ms": 950}, "order p95 950 ms > 800"),
        ({"error_rate": 0.02}, "errors 2.0% > 1%"),
        ({"carried_tasks_per_s": 80}, "carried 80% of the offered tasks"),
    ],
)
def test_each_threshold_alone_breaks_a_step_and_is_named(changes, named):
    assert breaches(step(**changes), OBJECTIVE) == [named]
    assert not sustained(step(**changes), OBJECTIVE)


def test_a_step_without_orders_is_judged_on_the_rest():
    assert sustained(step(order_p95_ms=None, orders=0), OBJECTIVE)


def test_the_ramp_goes_on_while_steps_hold_and_stops_at_the_first_break():
    held = [step(1, 10), step(2, 20)]
    assert not should_stop(held, OBJECTIVE)
    assert should_stop([*held, step(3, 35, read_p95_ms=450)], OBJECTIVE)
    assert not should_stop([], OBJECTIVE)


def test_a_stage_limit_is_the_last_sustained_step_and_names_the_hot_component():
    hot = Busy(hot="gateway", hot_share=0.97, stage_cores=1.2, locust_share=0.4,
               locust_cores=0.4, host_cores=1.7, cpus=2)  # fmt: skip
    steps = [step(1, 10), step(2, 20), step(3, 35, read_p95_ms=450, busy=hot)]
    capacity = conclude(steps, OBJECTIVE)
    assert capacity.kind == STAGE_LIMIT
    assert capacity.requests_per_s == 20 * 15.5  # step 2's throughput
    assert capacity.users == 20
    assert not capacity.lower_bound
    assert capacity.stop_step == 3
    assert capacity.reasons == ["read p95 450 ms > 200"]
    assert (capacity.hot, capacity.hot_share) == ("gateway", 0.97)
    assert capacity.headline() == "310 req/s"
    assert "gateway at 97% of a core, CPU-bound" in capacity.limit()


def test_locust_near_a_full_core_stops_the_ramp_even_when_the_step_held():
    busy_locust = Busy(hot="monolith", hot_share=0.4, stage_cores=0.6, locust_share=0.85,
                       locust_cores=0.85, host_cores=1.5, cpus=2)  # fmt: skip
    steps = [step(1, 10), step(2, 20, busy=busy_locust)]
    assert generator_bound(steps[1]) == "Locust's busiest process used 85% of a core"
    assert should_stop(steps, OBJECTIVE)
    capacity = conclude(steps, OBJECTIVE)
    # The stage carried what Locust sent: at least that, and no limit is laid on the stage.
    assert capacity.kind == GENERATOR_BOUND
    assert capacity.lower_bound
    assert capacity.requests_per_s == 20 * 15.5
    assert capacity.headline() == "at least 310 req/s"
    assert capacity.limit().startswith("not the stage's limit: Locust's busiest process")


def test_a_break_while_other_work_filled_the_machine_is_not_the_stages_limit():
    crowded = Busy(hot="monolith", hot_share=0.3, stage_cores=0.4, locust_share=0.2,
                   locust_cores=0.2, host_cores=1.9, cpus=2)  # fmt: skip
    assert generator_bound(step(busy=crowded)) == (
        "the machine's cores were full (1.9 of 2 busy), 1.3 of them with other work than the "
        "stage and Locust"
    )
    steps = [step(1, 10), step(2, 20, read_p95_ms=600, busy=crowded)]
    capacity = conclude(steps, OBJECTIVE)
    assert capacity.kind == GENERATOR_BOUND
    assert capacity.lower_bound and capacity.requests_per_s == 10 * 15.5


def test_a_step_that_held_on_a_crowded_machine_still_counts_and_the_ramp_goes_on():
    crowded = Busy(hot="monolith", hot_share=0.3, stage_cores=0.4, locust_share=0.2,
                   locust_cores=0.2, host_cores=1.95, cpus=2)  # fmt: skip
    steps = [step(1, 10, busy=crowded)]
    assert not should_stop(steps, OBJECTIVE)


def test_the_machine_full_with_the_stage_itself_is_the_stages_limit():
    # Both cores busy, but by the stage and Locust: no other work to blame.
    own = Busy(hot="monolith", hot_share=0.95, stage_cores=1.5, locust_share=0.4,
               locust_cores=0.4, host_cores=1.98, cpus=2)  # fmt: skip
    assert generator_bound(step(busy=own)) is None
    capacity = conclude([step(1, 10), step(2, 20, error_rate=0.05, busy=own)], OBJECTIVE)
    assert capacity.kind == STAGE_LIMIT


def test_a_ramp_that_ran_out_of_steps_gives_a_lower_bound():
    capacity = conclude([step(1, 10), step(2, 20), step(3, 35)], OBJECTIVE)
    assert capacity.kind == NOT_REACHED
    assert capacity.lower_bound and capacity.users == 35
    assert capacity.stop_step is None
    assert capacity.hot == "gateway"  # the last step's busiest


def test_a_first_step_that_broke_gives_no_capacity():
    capacity = conclude([step(1, 10, order_p95_ms=2000)], OBJECTIVE)
    assert capacity.kind == BELOW_RAMP
    assert capacity.requests_per_s is None
    assert capacity.headline() == "below the ramp's first step"
    assert conclude([], OBJECTIVE).kind == NO_DATA


def test_the_highest_throughput_among_the_sustained_steps_is_the_capacity():
    # A step with more users may carry a little less (noise): the best one counts.
    steps = [step(1, 10), step(2, 20, requests_per_s=320.0), step(3, 35, requests_per_s=300.0)]
    assert conclude(steps, OBJECTIVE).requests_per_s == 320.0


def test_steps_and_conclusions_survive_their_json():
    original = step(2, 20, busy=QUIET)
    assert Step.from_json(original.to_json()) == original
    capacity = conclude([step(1, 10), step(2, 20, read_p95_ms=900)], OBJECTIVE)
    assert Capacity.from_json(capacity.to_json()) == capacity


def test_ratios_to_the_monolith_say_when_a_side_is_only_a_lower_bound():
    base = Capacity(STAGE_LIMIT, requests_per_s=400.0)
    assert ratio(Capacity(STAGE_LIMIT, requests_per_s=100.0), base) == " (0.25x)"
    assert ratio(Capacity(GENERATOR_BOUND, 100.0, lower_bound=True), base) == " (>= 0.25x)"
    lower_base = Capacity(NOT_REACHED, 400.0, lower_bound=True)
    assert ratio(Capacity(STAGE_LIMIT, requests_per_s=100.0), lower_base) == " (<= 0.25x)"
    assert ratio(Capacity(BELOW_RAMP), base) == ""


def test_the_paragraph_is_written_from_the_numbers():
    hot = Busy(hot="gateway", hot_share=0.97, stage_cores=1.2, locust_share=0.4,
               locust_cores=0.4, host_cores=1.7, cpus=2)  # fmt: skip
    steps = [step(1, 10), step(2, 20, read_p95_ms=450, busy=hot)]
    data = {
        "rate": 10.0,
        "steps": [s.to_json() for s in steps],
        "capacity": conclude(steps, OBJECTIVE).to_json(),
    }
    base = Capacity(STAGE_LIMIT, requests_per_s=620.0, users=40)
    text = paragraph("microservices", data, base)
    assert text.startswith("microservices: sustained 155 req/s (0.25x) (10 users at 10 tasks/s")
    assert "read p95 450 ms > 200" in text
    assert "more copies of gateway alone" in text


def _found(steps: list[Step], rate: float = 10.0) -> dict:
    return {
        "rate": rate,
        "objective": {"read_p95_ms": 200, "order_p95_ms": 800, "error_rate": 0.01,
                      "carried_share": 0.9},
        "steps": [s.to_json() for s in steps],
        "capacity": conclude(steps, OBJECTIVE).to_json(),
    }  # fmt: skip


def test_the_terminal_table_puts_the_stages_side_by_side_with_ratios_and_causes():
    hot = Busy(hot="monolith", hot_share=0.9, stage_cores=1.3, locust_share=0.4,
               locust_cores=0.4, host_cores=1.8, cpus=2)  # fmt: skip
    crowded = Busy(hot="gateway", hot_share=0.3, stage_cores=0.4, locust_share=0.2,
                   locust_cores=0.2, host_cores=1.9, cpus=2)  # fmt: skip
    monolith = _found([step(1, 10), step(2, 20), step(3, 35, read_p95_ms=300, busy=hot)])
    split = _found([step(1, 10), step(2, 20, error_rate=0.2, busy=crowded)])
    lines = terminal_rows([("monolith", monolith), ("microservices", split)])
    table = {cells[0]: cells[1:] for line in lines[2:9] if (cells := re.split(r"\s{2,}", line))}
    assert table["capacity, sustained"] == ["310 req/s", "at least 155 req/s (>= 0.50x)"]
    assert table["what stopped the ramp"] == [
        "step 3: read p95 300 ms > 200",
        "machine full, 1.3 cores of other work",
    ]
    assert table["hot component at the stop"] == [
        "monolith (90% of a core)",
        "gateway (30% of a core)",
    ]
    assert table["this machine's busy cores"] == ["1.80 of 2", "1.90 of 2"]
    assert table["at users (tasks/s offered)"] == ["20 (200)", "10 (100)"]


def test_the_comparison_report_and_terminal_carry_the_capacity_of_each_ramp(tmp_path):
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    without = results.read_comparison(folder)
    assert 'id="capacity"' not in report.render(without)  # no ramp ran: no section
    (folder / "monolith" / "capacity").mkdir()
    ramp = _found([step(1, 10), step(2, 20, read_p95_ms=900)])
    (folder / "monolith" / "capacity" / "capacity.json").write_text(json.dumps(ramp))
    found = results.read_comparison(folder)
    page = report.render(found)
    assert '<section id="capacity">' in page
    assert '<td data-stage="monolith" data-capacity="capacity">155 req/s</td>' in page
    assert "capacity, sustained" in report.terminal_table(found)
