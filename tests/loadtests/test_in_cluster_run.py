"""The in-cluster load run (k8s/loadtest), played on this machine as the cluster plays it.

The master Job's command (`python -m loadtests in-cluster`) and two workers with the
worker Deployment's command (`locust_process.worker_argv`) load a monolith started
here; the replica sampler reads a recorded Kubernetes API. `python -m loadtests
fetch` takes the results through a stand-in kubectl that copies the master's results
folder as `kubectl cp` does, and `python -m loadtests report` (make compare-cluster)
reads them: exactly the files, in exactly the layout, the Job writes in its volume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from loadtests import in_cluster, replicas, results
from loadtests.locust_process import ROOT, worker_argv
from stages.definitions import StageOptions
from stages.launcher import FileSink, free_port
from stages.running import running_stage
from tests.loadtests.recorded_kubernetes import api_paths, recorded, write_kubeconfig
from tests.loadtests.report_reading import check_numbers_match_locust, csv_rows

NAMESPACE = "threefold-monolith"
POD = "locust-master-x7k2p"

# Stands in for kubectl: `get pods` lists one Ready master pod, `cp POD:/results DEST`
# copies the master's results folder (RESULTS_DIR) to DEST; every call is logged.
FAKE_KUBECTL = """\
#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if "get" in args:
    pod = {{"metadata": {{"name": "{pod}", "creationTimestamp": "2026-12-01T16:00:00Z"}},
           "status": {{"phase": "Running",
                      "conditions": [{{"type": "Ready", "status": os.environ["READY"]}}]}}}}
    print(json.dumps({{"items": [pod]}}))
elif "cp" in args:
    source, destination = args[-2:]
    assert source == "{pod}:/results", source
    shutil.copytree(os.environ["RESULTS_DIR"], destination)
else:
    sys.exit("unexpected kubectl call")
"""


# The master Job's command (k8s/loadtest), with the short smoke shape and a quick sampler.
MASTER = [
    sys.executable, "-m", "loadtests", "in-cluster", "monolith", "--namespace", NAMESPACE,
    "--workers", "2", "--shape", "smoke", "--profile", "short", "--rate", "10",
    "--hold", "600", "--sample-every", "2",
]  # fmt: skip


def _wait_ready(port: int, master: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Poll /readyz as the kubelet does until the results are complete."""
    deadline = time.monotonic() + timeout
    while True:
        assert master.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_the_master_job_and_its_workers_write_what_fetch_and_report_read(tmp_path, kubernetes_api):
    api = kubernetes_api({path: recorded(name) for name, path in api_paths(NAMESPACE).items()})
    env = os.environ | {
        "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", api.url)),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("KUBERNETES_SERVICE_HOST", None)
    out, health, master_port = tmp_path / "results", free_port(), free_port()
    processes: list[subprocess.Popen] = []
    options = StageOptions(port=0, data_dir=tmp_path / "data")
    try:
        with running_stage("monolith", options, sink=FileSink(tmp_path / "stage.log")) as stage:
            master = _start(
                [
                    *MASTER,
                    "--url",
                    stage.url,
                    "--out",
                    str(out),
                    "--port",
                    str(health),
                    "--master-port",
                    str(master_port),
                ],
                tmp_path / "master.log",
                env,
            )
            processes.append(master)
            for number in (1, 2):
                worker = worker_argv("127.0.0.1", master_port)
                processes.append(_start(worker, tmp_path / f"worker{number}.log", env))
            _wait_ready(health, master, tmp_path / "master.log")
        assert httpx.get(f"http://127.0.0.1:{health}/healthz").status_code == 200
        assert master.poll() is None  # it holds the results for kubectl cp

        # What the volume holds: the marker and one stage folder, no timestamp folder.
        assert sorted(p.name for p in out.iterdir()) == [in_cluster.COMPLETE, "monolith"]
        assert (out / in_cluster.COMPLETE).read_text() == "monolith\n"

        bin_dir, kubectl_log, folder = tmp_path / "bin", tmp_path / "kubectl.log", tmp_path / "cmp"
        bin_dir.mkdir()
        fake = bin_dir / "kubectl"
        fake.write_text(textwrap.dedent(FAKE_KUBECTL.format(python=sys.executable, pod=POD)))
        fake.chmod(0o755)
        tools = env | {
            "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}",
            "KUBECTL_LOG": str(kubectl_log),
            "RESULTS_DIR": str(out),
            "READY": "True",
        }
        for command in (["fetch", str(folder)], ["report", str(folder)]):
            done = subprocess.run(
                [sys.executable, "-m", "loadtests", *command],
                cwd=ROOT,
                env=tools,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr

        calls = [json.loads(line) for line in kubectl_log.read_text().splitlines()]
        assert all(call[:2] == ["--namespace", "threefold-loadtest"] for call in calls)
        assert calls[-1][2:5] == ["cp", "--container", "locust-master"]

        (found,) = results.read_comparison(folder)
        run = found.run
        assert (found.stage, run["namespace"], run["order"]) == ("monolith", NAMESPACE, 1)
        assert "error" not in run and run["locust_exit_code"] == 0, (folder / "monolith").iterdir()
        # The orders were placed by the workers; the master's file adds up what they reported.
        completed = found.orders.requests
        outcomes = found.order_outcomes
        assert completed > 0 and sum(outcomes.values()) == completed, outcomes
        assert set(outcomes) <= {"confirmed", "out_of_stock", "payment_declined"}
        assert found.aggregated.failures == 0
        assert {name for _, name in found.history} >= {"Aggregated", "order completion"}
        samples = replicas.read_csv(folder / "monolith" / replicas.FILE_NAME)
        assert {s.kind for s in samples} == {"Deployment", "Revision", "HorizontalPodAutoscaler"}
        assert not (folder / "monolith" / "progress.tmp").exists()
        stats = csv_rows(folder / "monolith" / "locust_stats.csv")
        assert any(r["Name"] == "POST /api/orders" for r in stats)
        check_numbers_match_locust(folder, (folder / "report.html").read_text(), ["monolith"])

        # kubectl delete: SIGTERM ends the hold at once, the run's exit code.
        master.send_signal(signal.SIGTERM)
        assert master.wait(30) == 0, (tmp_path / "master.log").read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def test_fetch_refuses_a_run_whose_results_are_not_complete(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "kubectl"
    fake.write_text(textwrap.dedent(FAKE_KUBECTL.format(python=sys.executable, pod=POD)))
    fake.chmod(0o755)
    env = os.environ | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "KUBECTL_LOG": str(tmp_path / "kubectl.log"),
        "RESULTS_DIR": str(tmp_path / "nothing"),
        "READY": "False",  # the master still runs: its /readyz answers 503
    }
    done = subprocess.run(
        [sys.executable, "-m", "loadtests", "fetch", str(tmp_path / "cmp")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the load run {POD} is not complete (Running)" in done.stderr
    assert "kubectl wait --for=condition=Ready" in done.stderr
    assert "cp" not in (tmp_path / "kubectl.log").read_text()
    assert not (tmp_path / "cmp").exists()
