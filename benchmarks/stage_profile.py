"""Where a stage's processes spend their CPU under load: py-spy flame graphs and top frames.

Starts the stage as `python -m stages run` does (migrated, seeded), loads its read
path with wrk (or, without wrk, a small httpx loop) and meanwhile samples each
process on that path with py-spy (on-CPU samples only). Writes, per process,
reports/profile/<stage>/<process>.svg (the flame graph) and <process>.txt (the
collapsed stacks), and prints the frames with the most samples of their own.

    make profile STAGE=microservices        (or: python -m benchmarks.stage_profile STAGE)
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from stages.definitions import STAGES, StageOptions
from stages.launcher import FileSink
from stages.running import running_stage

READ_PATH = "/api/products/TF-0001"
# The processes a read passes through, by stage; --all samples every process.
READ_PATH_PROCESSES = {
    "monolith": ("monolith",),
    "microservices": ("gateway", "catalog"),
    "functions": ("gateway", "catalog-read"),
}
_LINE = re.compile(r":\d+\)$")  # "func (file.py:12)" -> counted per function, not per line


def load(url: str, seconds: float, connections: int) -> str:
    """Keep `url` busy for `seconds`; what the load tool said."""
    if shutil.which("wrk"):
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", url]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    done, counts = time.monotonic() + seconds, collections.Counter()

    def loop() -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            while time.monotonic() < done:
                counts[client.get(url).status_code] += 1

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return f"httpx loop, {connections} clients, {seconds:.0f}s: statuses {dict(counts)}"


def top_frames(collapsed: Path, count: int) -> list[tuple[str, float]]:
    """The frames with the most samples of their own (the stack's last frame), as shares."""
    own: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            own[_LINE.sub(")", stack.rsplit(";", 1)[-1])] += int(samples)
    total = sum(own.values()) or 1
    return [(frame, n / total) for frame, n in own.most_common(count)]


def profile(stage: str, seconds: float, connections: int, every: bool, out: Path) -> int:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"threefold-profile-{stage}-"))
    options = StageOptions(port=0, data_dir=work)
    print(f"==> starting {stage} (logs in {work}/servers.log)", flush=True)
    with running_stage(stage, options, sink=FileSink(work / "servers.log")) as running:
        url = running.url + READ_PATH
        load(url, 2, connections)  # warm-up: imports, pools, keep-alive connections
        pids = running.launcher.pids()
        names = list(pids) if every else [n for n in READ_PATH_PROCESSES[stage] if n in pids]
        recorders = []
        for name in names:
            for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
                argv = [py_spy, "record", "--pid", str(pids[name]), "--subprocesses",
                        "--nonblocking", "--rate", "200", "--duration", f"{seconds:.0f}",
                        "--format", fmt, "--output", str(out / f"{name}.{suffix}")]  # fmt: skip
                recorders.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
        time.sleep(0.5)  # py-spy attached before the load starts
        print(load(url, seconds, connections), flush=True)
        failed = [r.args for r in recorders if r.wait() != 0]
    if failed:
        print(f"py-spy failed: {failed}", file=sys.stderr)
        return 1
    for name in names:
        print(f"\n{name}: frames with the most own samples ({out / name}.svg)")
        for frame, share in top_frames(out / f"{name}.txt", 15):
            print(f"  {share:6.1%}  {frame}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=list(STAGES))
    parser.add_argument("--seconds", type=float, default=10, help="of load, sampled (10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--all", action="store_true", help="every process, not the read path's only"
    )
    parser.add_argument("--out", type=Path, help="default reports/profile/<stage>")
    args = parser.parse_args(argv)
    out = args.out or Path("reports/profile") / args.stage
    return profile(args.stage, args.seconds, args.connections, args.all, out)


if __name__ == "__main__":
    raise SystemExit(main())
