"""What tracing costs a stage: the same load with TRACING=0, every request traced, and none
but those a caller asks for (the load runs' setting).

For one stage at a time, three copies run at once, each started by the launcher
as make run-* starts it (spans to OTLP JSON files in its data folder), differing
only in their tracing settings:

    off     TRACING=0
    1.0     TRACE_SAMPLE_RATIO=1     (every request traced: make run-*, the workshop)
    0       TRACE_SAMPLE_RATIO=0     (only a request sent with a sampled traceparent:
                                      the load runs; every other skips the instrumentation)

wrk loads each copy in turn, round after round, so a busy machine slows all three
alike: GET /api/products/TF-0001 (the read path) and POST /api/orders (an order
for one unit of a random seeded product, paid with the test token that succeeds;
the saga that follows is counted in the CPU, not in the req/s). The figures are
ratios to "off", the medians of the rounds' ratios: req/s, and the stage's CPU
milliseconds per request (every process of the copy, its background work included).

    python -m benchmarks.tracing_cost [--stages monolith microservices] [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cpu import tree_cpu_ms
from benchmarks.product_lookup import wrk_missing
from stages.definitions import StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

SETTINGS = {
    "off": {"TRACING": "0"},
    "1.0": {"TRACE_SAMPLE_RATIO": "1"},
    "0": {"TRACE_SAMPLE_RATIO": "0"},
}
READ_PATH = "/api/products/TF-0001"
# wrk's Lua: POST an order for one unit of a random seeded product (TF-0001 .. TF-0060).
ORDER_SCRIPT = """
math.randomseed(os.time())
request = function()
  local sku = string.format("TF-%04d", math.random(1, 60))
  local body = '{"email":"bench@example.com","payment_token":"tok_visa",' ..
    '"lines":[{"sku":"' .. sku .. '","quantity":1}]}'
  return wrk.format("POST", "/api/orders", {["Content-Type"] = "application/json"}, body)
end
"""
PATHS = {"read": READ_PATH, "order": "POST /api/orders"}


@dataclass(frozen=True)
class Sample:
    rps: float
    cpu_ms: float  # the copy's CPU milliseconds per request
    errors: int  # non-2xx answers and socket errors


def _wrk(url: str, seconds: int, connections: int, script: Path | None) -> tuple[float, int, int]:
    """(req/s, requests, errors) of one wrk run."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"]
    out = subprocess.run(
        [*argv, *(["-s", str(script)] if script else []), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in socket.groups())
    return rps, requests, errors


def _sample(
    url: str, pids: list[int], seconds: int, connections: int, script: Path | None
) -> Sample:
    before = sum(tree_cpu_ms(pid) for pid in pids)
    rps, requests, errors = _wrk(url, seconds, connections, script)
    cpu = sum(tree_cpu_ms(pid) for pid in pids) - before
    return Sample(rps, cpu / max(requests, 1), errors)


@contextmanager
def _copies(stage: str, work: Path) -> Iterator[dict[str, tuple[str, list[int]]]]:
    """The stage three times, one per tracing setting: URL and process ids by setting."""
    sink = FileSink(work / f"{stage}.log")
    with ExitStack() as stack:
        copies = {}
        for name, env in SETTINGS.items():
            options = StageOptions(port=0, data_dir=work / f"{stage}-{name}", env=env)
            running = stack.enter_context(running_stage(stage, options, sink=sink))
            copies[name] = (running.url, list(running.launcher.pids().values()))
        yield copies


def measure(
    stage: str, seconds: int = 5, rounds: int = 3, connections: int = 16
) -> dict[str, dict[str, list[Sample]]]:
    """samples[path][setting]: one Sample per round, the settings alternating in a round."""
    work = Path(tempfile.mkdtemp(prefix="threefold-tracing-"))
    script = work / "order.lua"
    script.write_text(ORDER_SCRIPT)
    print(f"==> {stage} three times: tracing off, 1.0, 0 (logs in {work})", flush=True)
    samples: dict[str, dict[str, list[Sample]]] = {p: {s: [] for s in SETTINGS} for p in PATHS}
    with _copies(stage, work) as copies:
        for url, _ in copies.values():  # warm-up: imports, pools, keep-alive connections
            _wrk(f"{url}{READ_PATH}", 1, connections, None)
        for number in range(1, rounds + 1):
            for path in PATHS:
                for setting, (url, pids) in copies.items():
                    target = f"{url}{READ_PATH}" if path == "read" else url
                    chosen = script if path == "order" else None
                    # orders: fewer connections, the saga's background work shares the CPU
                    sample = _sample(
                        target, pids, seconds, connections // 2 if chosen else connections, chosen
                    )
                    samples[path][setting].append(sample)
                    print(
                        f"    round {number}: {stage} {path:<5} tracing {setting:<4} "
                        f"{sample.rps:7.0f} req/s {sample.cpu_ms:6.2f} CPU ms/request"
                        + (f" ({sample.errors} errors)" if sample.errors else ""),
                        flush=True,
                    )
    return samples


@dataclass(frozen=True)
class Cost:
    """Tracing at `setting` against tracing off, on one stage's path: medians of the rounds."""

    stage: str
    path: str
    setting: str
    rps_ratio: float  # req/s traced / req/s off (1.0: free)
    cpu_ratio: float  # CPU per request traced / off (1.0: free)


def costs(stage: str, samples: dict[str, dict[str, list[Sample]]]) -> list[Cost]:
    found = []
    for path, by_setting in samples.items():
        off = by_setting["off"]
        for setting in ("1.0", "0"):
            rounds = list(zip(by_setting[setting], off, strict=True))
            found.append(
                Cost(
                    stage,
                    path,
                    setting,
                    statistics.median(a.rps / b.rps for a, b in rounds),
                    statistics.median(a.cpu_ms / b.cpu_ms for a, b in rounds),
                )
            )
    return found


def describe(cost: Cost) -> str:
    return f"{cost.rps_ratio:.2f}x req/s, {cost.cpu_ratio:.2f}x CPU/request"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", default=["monolith", "microservices"])
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    if missing := wrk_missing():
        print(missing, file=sys.stderr)
        return 1
    found = [
        cost
        for stage in args.stages
        for cost in costs(stage, measure(stage, args.seconds, args.rounds, args.connections))
    ]
    print(
        f"\nwrk -c{args.connections} (orders -c{args.connections // 2}), against tracing off, "
        f"median of {args.rounds} rounds' ratios:"
    )
    for cost in found:
        what = READ_PATH if cost.path == "read" else "POST /api/orders"
        print(f"  {cost.stage:<14} {what:<28} ratio {cost.setting:<4}  {describe(cost)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
