"""The resource sampler and what is made of its samples.

- Against real processes: a child that burns CPU reports its own CPU time
  (time.process_time, not wall time, so a loaded machine does not matter) and
  the sampler must read the same within CPU_TOLERANCE; a child that allocates
  a known block must grow by it within RSS_TOLERANCE; a process's children are
  counted under its name.
- From a small synthetic resources.csv: CPU per request and per order, memory
  at rest and under load, the hot component, Locust apart; worked out by hand.
- The report's section, from the kept comparison with synthetic samples added:
  the figures, the ratios to the monolith, each stage's paragraph, and "not
  measured (remote stage)" for a stage that ran elsewhere.
- A real run of the monolith started here: resources.csv has its processes at
  rest and under load, and Locust's apart.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests import report, resource_section, resource_use, results
from loadtests.locust_process import LoadSettings
from loadtests.resources import (
    HOST,
    LOCUST,
    STAGE,
    ProcessUsage,
    ResourceSampler,
    UsageThread,
    UsageWriter,
    read_csv,
)
from loadtests.results import Entry, StageResult
from loadtests.runner import Target, run_stage
from tests.loadtests.recorded_kubernetes import FIXTURES
from tests.loadtests.report_reading import Page, csv_rows
from tests.loadtests.test_report import render_in_chromium

MIB = 1024 * 1024
# /proc counts CPU time in clock ticks (10 ms); the child does next to nothing between
# reading its own process_time and the sample (a print, then a blocking read).
CPU_TOLERANCE = 0.05  # seconds
BURN = 1.0  # CPU seconds the burning child spends
BLOCK = 100 * MIB  # what the allocating child allocates
RSS_TOLERANCE = 8 * MIB  # the interpreter's own growth while it allocates and answers

# Burns BURN CPU seconds by its own clock, says how much it used, then waits for a line.
BURNER = f"""
import sys, time
while time.process_time() < {BURN}:
    pass
print(time.process_time(), flush=True)
sys.stdin.readline()
"""
# Says it is ready, waits for a line, allocates BLOCK (written, so resident), says so, waits.
ALLOCATOR = f"""
import sys
print("ready", flush=True)
sys.stdin.readline()
block = b"\\x01" * {BLOCK}
print("allocated", flush=True)
sys.stdin.readline()
"""
# Starts the burner as its child and waits for it: the sampler is given only this process.
PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURNER!r}])"


def _start(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen) -> None:
    process.stdin.close()  # the child's read ends, and so does it
    process.wait(30)
    process.stdout.close()


def test_the_cpu_seconds_of_a_process_and_of_its_children_are_its_own_clock():
    alone, parent = _start(BURNER), _start(PARENT)
    try:
        reported_alone = float(alone.stdout.readline())  # it has burnt its CPU now
        reported_child = float(parent.stdout.readline())  # the child shares the pipe
        sampler = ResourceSampler(lambda: {"burner": alone.pid, "parent": parent.pid})
        found = sampler.sample()
    finally:
        _finish(alone)
        _finish(parent)
    by_pid = {s.pid: s for s in found}
    assert by_pid[alone.pid].component == "burner"
    assert by_pid[alone.pid].cpu_seconds == pytest.approx(reported_alone, abs=CPU_TOLERANCE)
    assert reported_alone >= BURN
    children = [s for s in found if s.component == "parent" and s.pid != parent.pid]
    assert len(children) == 1  # the burner its parent started, under the parent's name
    assert children[0].cpu_seconds == pytest.approx(reported_child, abs=CPU_TOLERANCE)
    assert {s.role for s in found} == {STAGE}


def test_the_machine_row_counts_the_busy_cpu_of_every_process():
    sampler = ResourceSampler(host=True)  # no stage: only the machine
    (before,) = sampler.sample()
    burner = _start(BURNER)
    try:
        reported = float(burner.stdout.readline())
        (after,) = sampler.sample()
    finally:
        _finish(burner)
    assert (before.role, before.component, before.pid) == (HOST, "host", 0)
    assert after.cpu_seconds - before.cpu_seconds >= reported - CPU_TOLERANCE
    assert after.rss_bytes > 0  # the memory in use


def test_resident_memory_grows_by_what_a_process_allocates(tmp_path):
    child = _start(ALLOCATOR)
    sampler = ResourceSampler(lambda: {"allocator": child.pid})
    thread = UsageThread(sampler, UsageWriter(tmp_path / "resources.csv"), interval=60)
    try:
        assert child.stdout.readline().strip() == "ready"
        thread.start()  # a first sample at once
        before = sampler.sample()
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "allocated"
        thread.sample_now()
        after = sampler.sample()
    finally:
        thread.stop()  # and a last one
        _finish(child)
    (grown,) = [a.rss_bytes - b.rss_bytes for a, b in zip(after, before, strict=True)]
    assert grown == pytest.approx(BLOCK, abs=RSS_TOLERANCE)
    kept = read_csv(tmp_path / "resources.csv")
    assert len({s.time for s in kept}) == 3
    assert max(s.rss_bytes for s in kept) >= before[0].rss_bytes + BLOCK - RSS_TOLERANCE


def test_a_process_that_is_gone_is_left_out():
    child = _start("pass")
    child.communicate(timeout=30)
    assert ResourceSampler(lambda: {"gone": child.pid}).sample() == []


# --- the figures, from a synthetic CSV -------------------------------------------------------


def _entry(kind: str, name: str, requests: int, failures: int = 0) -> Entry:
    return Entry(kind, name, requests, failures, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _usage(time, component, pid, cpu, rss_mib, role=STAGE) -> ProcessUsage:
    return ProcessUsage(time, role, component, pid, cpu, rss_mib * MIB)


def synthetic_result() -> StageResult:
    """Ticks at 98 and 99 (rest), 100 (the load starts), 105 and 110.2 (after its end, 110).

    gateway (pid 10): 0.6 CPU s at 100, 2.6 at 105, 4.6 at 110.2: 4.0 s under load
    orders (pid 20): 1.0 at 100, 1.5, 2.0: 1.0 s; its child 21, born under load, 0.5 at 105
        and 3.5 at 110.2: 3.5 s (from zero), 3.0 over the 5.2 s it was seen: 0.58 of a core
    locust (pid 30): 1.0 at 105 and 3.0 at 110.2: 3.0 s, none of it the stage's
    the machine: 1000 busy CPU s at rest, 1000 at 100, 1010 at 105 and 1019.36 at 110.2
    memory: 50 + 40 MiB at rest; 60 + 40 + 30 at 105, 70 + 40 + 30 at 110.2
    """
    rows = []
    for t in (98.0, 99.0, 100.0):
        rows += [_usage(t, "gateway", 10, 0.5 if t < 100 else 0.6, 50)]
        rows += [_usage(t, "orders", 20, 1.0, 40)]
        rows += [_usage(t, "host", 0, 1000.0, 4000, HOST)]
    rows += [
        _usage(105.0, "gateway", 10, 2.6, 60),
        _usage(105.0, "orders", 20, 1.5, 40),
        _usage(105.0, "orders", 21, 0.5, 30),
        _usage(105.0, "locust", 30, 1.0, 80, LOCUST),
        _usage(110.2, "gateway", 10, 4.6, 70),
        _usage(110.2, "orders", 20, 2.0, 40),
        _usage(110.2, "orders", 21, 3.5, 30),
        _usage(110.2, "locust", 30, 3.0, 80, LOCUST),
        _usage(105.0, "host", 0, 1010.0, 4000, HOST),
        _usage(110.2, "host", 0, 1019.36, 4000, HOST),
    ]
    entries = {
        ("GET", "GET /api/products"): _entry("GET", "GET /api/products", 900),
        ("POST", "POST /api/orders"): _entry("POST", "POST /api/orders", 100),
        ("ORDER", "order completion"): _entry("ORDER", "order completion", 100, 10),
        ("", "Aggregated"): _entry("", "Aggregated", 1100, 10),
    }
    run = {"stage": "microservices", "started_at": 100.0, "ended_at": 110.0, "load_host_cpus": 2}
    return StageResult("microservices", Path("."), run, entries, {}, {}, [], rows)


def test_cpu_per_request_and_per_order_memory_and_the_hot_component():
    use = resource_use.stage_use(synthetic_result())
    assert use.duration == pytest.approx(10.2)
    assert use.requests == 1000  # the order-completion rows are no requests
    assert use.orders == 90  # 100 orders, 10 never final
    assert use.cpu_seconds == pytest.approx(4.0 + 1.0 + 3.5)
    assert use.core_ms_per_request == pytest.approx(8.5)
    assert use.core_ms_per_order == pytest.approx(8500 / 90)
    orders, gateway = use.components  # most CPU first
    assert (gateway.name, gateway.processes) == ("gateway", 1)
    assert gateway.cpu_seconds == pytest.approx(4.0)
    assert (orders.name, orders.processes) == ("orders", 2)
    assert orders.cpu_seconds == pytest.approx(4.5)
    assert use.core_ms_per_request_of(orders) == pytest.approx(4.5)
    assert gateway.busiest_peak == pytest.approx(2.0 / 5)
    assert orders.busiest_peak == pytest.approx(3.0 / 5.2)
    assert use.hot is orders
    assert use.rest_rss == 90 * MIB
    assert use.load_mean_rss == pytest.approx(135 * MIB)
    assert use.load_peak_rss == 140 * MIB
    assert orders.rest_rss == 40 * MIB and orders.load_rss == 70 * MIB
    assert use.locust.cpu_seconds == pytest.approx(3.0)
    assert use.locust.busiest_peak == pytest.approx(2.0 / 5.2)
    assert not use.locust_busy
    assert use.host.cores == pytest.approx(19.36 / 10.2)  # of use.host_cpus
    assert use.host_cpus == 2


def test_a_stage_whose_processes_were_not_sampled_has_no_figures():
    result = synthetic_result()
    result.resource_samples = [s for s in result.resource_samples if s.role != STAGE]
    assert resource_use.stage_use(result) is None
    assert resource_use.locust_use(result).cpu_seconds == pytest.approx(3.0)


def test_the_stages_cpu_and_memory_over_time_start_with_the_load():
    result = synthetic_result()
    # 99 -> 100: gateway 0.1 s; 100 -> 105: gateway 2.0 + orders 0.5; 105 -> 110.2: 2.0 + 0.5
    # + 3.0 (the child, seen at both); the rest's first interval ends before the load
    cpu = resource_use.cpu_series(result).points
    assert [t for t, _ in cpu] == pytest.approx([0.0, 5.0, 10.2])
    assert [v for _, v in cpu] == pytest.approx([0.1, 0.5, 5.5 / 5.2])
    memory = resource_use.memory_series(result).points
    assert [t for t, _ in memory] == pytest.approx([0.0, 5.0, 10.2])
    assert [v for _, v in memory] == pytest.approx([90.0, 130.0, 140.0])


def test_the_peak_share_is_taken_over_the_span():
    points = [(0.0, 0.0), (1.0, 0.1), (2.0, 1.0), (3.0, 1.9), (6.0, 2.0), (8.0, 2.0)]
    assert resource_use.peak_share(points, span=2.0) == pytest.approx(0.9)
    assert resource_use.peak_share(points[:2], span=5.0) == pytest.approx(0.1)  # all there is


# --- the report's section ---------------------------------------------------------------------

# Per component: (pid, CPU seconds per second under load, MiB resident).
MONOLITH = {"monolith": [(100, 0.2, 60), (101, 0.5, 70), (102, 0.45, 70)]}
# The whole machine's busy cores under load (2 cores): nearly full during the monolith's run.
MACHINE = {"monolith": 1.9, "microservices": 1.0}
MICROSERVICES = {
    "gateway": [(200, 0.4, 50)],
    "catalog": [(201, 0.7, 55)],
    "orders": [(202, 0.45, 30), (203, 0.45, 30)],
}


def _write_samples(folder: Path, components: dict[str, list[tuple[int, float, int]]]) -> float:
    """Samples every second from 2 s before the load until after it; returns its length."""
    run = json.loads((folder / "run.json").read_text())
    started, ended = run["started_at"], run["ended_at"]
    ticks = [started - 2, started - 1, started]
    while ticks[-1] < ended:
        ticks.append(ticks[-1] + 1)
    rows = [
        ProcessUsage(t, STAGE, name, pid, 1.0 + rate * max(0.0, t - started), mib * MIB)
        for t in ticks
        for name, processes in components.items()
        for pid, rate, mib in processes
    ]
    busy = MACHINE[run["stage"]]
    rows += [ProcessUsage(t, HOST, "host", 0, busy * max(0.0, t - started), 0) for t in ticks]
    writer = UsageWriter(folder / "resources.csv")
    writer.write(rows)
    writer.close()
    (folder / "run.json").write_text(json.dumps(run | {"started_here": True, "load_host_cpus": 2}))
    return ticks[-1] - started


def _requests(folder: Path) -> tuple[int, int]:
    """HTTP requests and completed orders, read from Locust's CSV directly."""
    rows = csv_rows(folder / "locust_stats.csv")
    requests = sum(int(r["Request Count"]) for r in rows if r["Type"] not in ("", "ORDER"))
    (order,) = [r for r in rows if r["Type"] == "ORDER"]
    return requests, int(order["Request Count"]) - int(order["Failure Count"])


def test_the_report_shows_the_resources_of_each_stage(tmp_path):
    folder = tmp_path / "comparison"
    shutil.copytree(FIXTURES / "comparison", folder)
    expected = {}
    for stage, components in (("monolith", MONOLITH), ("microservices", MICROSERVICES)):
        seconds = _write_samples(folder / stage, components)
        cpu = seconds * sum(rate for ps in components.values() for _, rate, _ in ps)
        requests, orders = _requests(folder / stage)
        expected[stage] = (1000 * cpu / requests, 1000 * cpu / orders)
    found = results.read_comparison(folder)
    page = Page(report.write(found, folder).read_text())

    mono_req, mono_order = expected["monolith"]
    micro_req, micro_order = expected["microservices"]
    assert page.resources[("monolith", "core_ms_request")] == f"{mono_req:.2f}"
    assert page.resources[("microservices", "core_ms_request")] == (
        f"{micro_req:.2f} ({micro_req / mono_req:.1f}x)"
    )
    assert page.resources[("microservices", "core_ms_order")] == (
        f"{micro_order:.1f} ({micro_order / mono_order:.1f}x)"
    )
    assert page.resources[("monolith", "rest_mib")] == "200"
    assert page.resources[("microservices", "rest_mib")] == "165 (0.8x)"
    # the busiest process, not the component with the most CPU in all: catalog at 70%
    assert page.resources[("microservices", "hot")] == "catalog (70% of a core)"
    assert page.resources[("monolith", "hot")] == "monolith (50% of a core)"
    assert page.resources[("functions", "core_ms_request")] == "not measured (remote stage)"
    assert page.resources[("functions", "rest_mib")] == "-"

    micro = page.meanings["microservices"]
    assert f"each HTTP request cost {micro_req:.2f} core-ms" in micro
    assert (
        f"{micro_req / mono_req:.1f}x and {micro_order / mono_order:.1f}x the monolith's" in micro
    )
    assert "The hot component was catalog" in micro
    assert "Passing requests and events between processes (gateway) took" in micro
    assert "the whole application is copied, 200 MiB each at rest" in page.meanings["monolith"]
    assert page.meanings["functions"].startswith("functions: not measured (remote stage)")
    # 1.9 of 2 cores busy, the stage 1.15 of them (no Locust here): 0.75 by other work
    assert (
        "This machine's 2 cores were 1.90 busy on average under load, 0.75 by other work"
        in page.meanings["monolith"]
    )
    assert "This machine's" not in micro
    assert page.resources[("monolith", "host")] == "1.90 of 2"

    dom, log = render_in_chromium(folder / report.REPORT_NAME, tmp_path)
    drawn = Page(dom)
    assert "data-script-error" not in drawn.body and "Uncaught" not in log, log
    assert (
        drawn.charts["chart-cpu"] == drawn.charts["chart-memory"] == {"monolith", "microservices"}
    )
    assert drawn.body.get("data-charts-drawn") == str(len(drawn.charts))
    rates = {stage: sum(r for ps in c.values() for _, r, _ in ps) for stage, c in
             (("monolith", MONOLITH), ("microservices", MICROSERVICES))}  # fmt: skip
    for stage, cores in rates.items():  # every second, the same rate, once the load began
        under_load = [v for t, v in page.data["chart-cpu"][stage] if t > 0.5]
        assert len(under_load) >= 45 and under_load == pytest.approx([cores] * len(under_load))

    terminal = report.terminal_table(found)
    for row, shown in resource_section.cells(found):
        line = next(line for line in terminal.splitlines() if line.startswith(row.label))
        assert line.endswith(shown[-1]) and all(cell in line for cell in shown), line
    assert micro in " ".join(terminal.split())  # wrapped there


# --- a real run -----------------------------------------------------------------------------


def test_a_run_of_a_stage_started_here_samples_it_at_rest_and_under_load(tmp_path):
    folder = tmp_path / "monolith"
    smoke = LoadSettings(shape="smoke", profile="short", pacing="fixed", rate=10.0)
    run = run_stage(Target("monolith"), smoke, folder)
    assert "error" not in run, run
    samples = read_csv(folder / "resources.csv")
    stage = [s for s in samples if s.role == STAGE]
    assert {s.component for s in stage} == {"monolith"}
    assert len({s.pid for s in stage}) >= 2  # gunicorn's master and its workers
    rest = {s.time for s in stage if s.time <= run["started_at"]}
    assert len(rest) >= 3  # a sample a second for REST_SECONDS, and one as the load starts
    locust = [s for s in samples if s.role == LOCUST]
    assert locust and not {s.pid for s in locust} & {s.pid for s in stage}
    use = resource_use.stage_use(results.read_stage(folder))
    assert use.requests > 0 and use.cpu_seconds > 0 and use.core_ms_per_request > 0
    assert use.rest_rss > 0 and use.load_peak_rss > 0
    assert use.locust.cpu_seconds > 0
    assert {s.role for s in samples} == {STAGE, LOCUST, HOST}
    assert use.host.cores >= use.cores  # the machine's busy cores include the stage's
