"""Fetch an in-cluster load run (k8s/loadtest) into a local comparison folder.

    python -m loadtests fetch reports/cluster [--namespace threefold-loadtest]

finds the run's master pod (label app.kubernetes.io/name=locust-master), refuses
while its results are not complete (the pod is Ready only then: see
loadtests.in_cluster), copies its results folder with `kubectl cp` and puts the
stage's folder into FOLDER, in place of an earlier run of the same stage. Run
once per stage, FOLDER then holds monolith/, microservices/ and functions/,
each as `python -m loadtests run` lays it out, and `python -m loadtests report
FOLDER` (make compare-cluster) writes the comparison of the three.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from loadtests.in_cluster import COMPLETE
from loadtests.runner import say

NAMESPACE = "threefold-loadtest"
MASTER_LABEL = "app.kubernetes.io/name=locust-master"
CONTAINER = "locust-master"
RESULTS = "/results"  # the master's results volume (k8s/loadtest/base/master-job.yaml)


class FetchError(ValueError):
    """No complete run to fetch; printed as one line (exit code 2)."""


def add_parser(commands) -> None:
    command = commands.add_parser("fetch", help="copy an in-cluster run's results (kubectl cp)")
    command.add_argument("folder", type=Path, help="the local comparison folder")
    command.add_argument("--namespace", default=NAMESPACE)
    command.add_argument("--kube-context", help="kubeconfig context (default: the current one)")


def _kubectl(args: argparse.Namespace) -> list[str]:
    context = ["--context", args.kube_context] if args.kube_context else []
    return ["kubectl", *context, "--namespace", args.namespace]


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise FetchError("kubectl is not installed (it fetches the results)") from error
    if done.returncode != 0:
        raise FetchError(f"{' '.join(argv[:6])} ...: {done.stderr.strip()}")
    return done.stdout


def _ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def complete_pod(kubectl: list[str]) -> str:
    """The newest master pod whose results are complete."""
    listed = json.loads(_run([*kubectl, "get", "pods", "-l", MASTER_LABEL, "-o", "json"]))
    pods = sorted(listed.get("items", []), key=lambda p: p["metadata"]["creationTimestamp"])
    if not pods:
        raise FetchError(f"no load run here ({MASTER_LABEL}): kubectl apply -k k8s/loadtest/...")
    ready = [p for p in pods if _ready(p)]
    if not ready:
        phase = (pods[-1].get("status") or {}).get("phase", "unknown")
        raise FetchError(
            f"the load run {pods[-1]['metadata']['name']} is not complete ({phase}); "
            "wait: kubectl wait --for=condition=Ready pod -l " + MASTER_LABEL
        )
    return ready[-1]["metadata"]["name"]


def fetch(args: argparse.Namespace) -> Path:
    """Copy the complete run into args.folder/<stage>; returns that folder."""
    kubectl = _kubectl(args)
    pod = complete_pod(kubectl)
    with tempfile.TemporaryDirectory(prefix="threefold-fetch-") as scratch:
        copied = Path(scratch) / "results"
        _run([*kubectl, "cp", "--container", CONTAINER, f"{pod}:{RESULTS}", str(copied)])
        marker = copied / COMPLETE
        stage = marker.read_text().strip() if marker.exists() else ""
        if not stage or not (copied / stage / "run.json").exists():
            raise FetchError(f"{pod}:{RESULTS} holds no complete stage folder")
        args.folder.mkdir(parents=True, exist_ok=True)
        into = args.folder / stage
        if into.exists():
            shutil.rmtree(into)
        shutil.move(copied / stage, into)
    say(f"{stage}: fetched from {pod} into {into}")
    return into


def main(args: argparse.Namespace) -> int:
    fetch(args)
    held = sorted(p.parent.name for p in args.folder.glob("*/run.json"))
    say(f"{args.folder} holds: {', '.join(held)}; the report: make compare-cluster")
    return 0
