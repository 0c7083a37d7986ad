"""What tracing costs the microservices stage, as ratios measured in one run.

Two microservices stages run at once, one with TRACING=1 (every request sampled, its
spans written to files: the default) and one with TRACING=0; wrk measures
GET /api/products/TF-0001 straight at the catalog service and through the gateway,
target after target, round after round, so a busy machine slows all of them alike.
The ratios (off / on) are of the medians; CPU per request counts every process that
answers the target (benchmarks.service_overhead).

    python -m benchmarks.tracing_microservices [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.product_lookup import wrk_missing
from benchmarks.service_overhead import READ_PATH, Sample, _sample
from stages.definitions import StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

STAGE = "microservices"
TRACING = {"tracing on": "1", "tracing off": "0"}


def measure(seconds: int, rounds: int, connections: int) -> dict[str, list[Sample]]:
    work = Path(tempfile.mkdtemp(prefix="threefold-tracing-"))
    print(f"==> starting two microservices stages (logs in {work})", flush=True)
    samples: dict[str, list[Sample]] = {}
    with ExitStack() as stack:
        targets = {}
        for label, tracing in TRACING.items():
            folder = work / label.replace(" ", "-")
            options = StageOptions(port=0, data_dir=folder, env={"TRACING": tracing})
            sink = FileSink(work / f"{folder.name}.log")
            running = stack.enter_context(running_stage(STAGE, options, sink=sink))
            pids = running.launcher.pids()
            catalog = next(p for p in running.plan.processes if p.name == "catalog")
            targets[f"catalog, {label}"] = (f"{catalog.url}{READ_PATH}", [pids["catalog"]])
            targets[f"gateway, {label}"] = (
                f"{running.url}{READ_PATH}",
                [pids["gateway"], pids["catalog"]],
            )
        for url, pids in targets.values():  # warm-up
            _sample(url, pids, 1, connections)
        for round_ in range(1, rounds + 1):
            for name, (url, pids) in targets.items():
                sample = _sample(url, pids, seconds, connections)
                samples.setdefault(name, []).append(sample)
                print(f"round {round_} {name}: {sample.rps:.0f} req/s, "
                      f"{sample.cpu_ms:.2f} ms CPU/request", flush=True)  # fmt: skip
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    missing = wrk_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    samples = measure(args.seconds, args.rounds, args.connections)
    rps = {name: statistics.median(s.rps for s in runs) for name, runs in samples.items()}
    cpu = {name: statistics.median(s.cpu_ms for s in runs) for name, runs in samples.items()}
    print("\nmedians (req/s, CPU ms per request) and tracing's cost (on / off):")
    for target in ("catalog", "gateway"):
        on, off = f"{target}, tracing on", f"{target}, tracing off"
        print(
            f"  {target:8} on {rps[on]:6.0f} req/s {cpu[on]:5.2f} ms | "
            f"off {rps[off]:6.0f} req/s {cpu[off]:5.2f} ms | "
            f"req/s on/off {rps[on] / rps[off]:.2f}, CPU on/off {cpu[on] / cpu[off]:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
