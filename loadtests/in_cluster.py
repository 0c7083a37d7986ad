"""The load run inside a cluster: what k8s/loadtest's master Job runs.

    python -m loadtests in-cluster monolith \\
        --url http://monolith.threefold-monolith.svc.cluster.local:8080 \\
        --namespace threefold-monolith --workers 2 --shape step --profile full --out /results

It is the same run as `python -m loadtests run` (runner.run_stage: the catalog
checked, the namespace's replicas sampled, Locust, run.json), with Locust as a
master that waits for `--workers` workers (the worker Deployment's pods run
`locust_process.worker_argv`) and writes its files. They go to OUT/<stage>/,
with no timestamp folder: one stage per run, so `kubectl cp` of OUT puts the
stage's folder into a local comparison folder beside the other stages' runs
(`make fetch-cluster`), and `python -m loadtests report` reads them all.

A Job's pod that has ended cannot be copied from, so the process then holds
the results for `--hold` seconds (SIGTERM, as `kubectl delete` sends, ends it
at once). It answers on `--port`: GET /healthz is 200 while it runs, GET
/readyz is 200 only once the results are complete, so the pod's readiness says
when to fetch (`kubectl wait --for=condition=Ready`).

The replica sampler uses the pod's service account (kubernetes' in-cluster
configuration): k8s/loadtest binds it to a Role in the stage's namespace that
may only list Deployments, HorizontalPodAutoscalers and Knative Revisions.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from loadtests.locust_process import LoadSettings
from loadtests.runner import Progress, Target, run_stage, say
from stages.definitions import STAGES

COMPLETE = "COMPLETE"  # written into OUT when the stage's folder is complete
HEALTH_PORT = 8080


def add_parser(commands) -> None:
    command = commands.add_parser("in-cluster", help="one stage, Locust distributed (k8s/loadtest)")
    command.add_argument("stage", choices=list(STAGES))
    command.add_argument("--url", required=True, help="the stage's base URL inside the cluster")
    command.add_argument("--namespace", help="sample this namespace's replicas (the stage's)")
    command.add_argument("--workers", type=int, default=1, help="Locust workers to wait for")
    command.add_argument("--shape", default="step")
    command.add_argument("--profile", default="full")
    command.add_argument("--pacing", default="fixed")
    command.add_argument("--rate", type=float, default=10.0, help="tasks/s per user (fixed)")
    command.add_argument("--out", type=Path, default=Path("/results"))
    command.add_argument("--hold", type=float, default=3600.0, help="seconds to keep results")
    command.add_argument("--port", type=int, default=HEALTH_PORT, help="/healthz and /readyz")
    command.add_argument("--master-port", type=int, default=LoadSettings.master_port)
    command.add_argument("--sample-every", type=float, default=5.0, help="seconds")
    command.add_argument("--admin-token", help="to seed an empty catalog (default: none)")


class Health:
    """/healthz and /readyz of the load pod, served in a thread."""

    def __init__(self, port: int) -> None:
        self.complete = threading.Event()
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    status = 200
                elif self.path == "/readyz":
                    status = 200 if health.complete.is_set() else 503
                else:
                    status = 404
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass  # the kubelet asks every few seconds

        self.server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - the kubelet
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(args: argparse.Namespace) -> int:
    settings = LoadSettings(
        args.shape, args.profile, args.pacing, args.rate, args.workers, args.master_port
    )
    settings.describe()  # an unknown shape or profile stops here, before anything runs
    target = Target(args.stage, args.url, args.namespace, args.admin_token)
    order = list(STAGES).index(args.stage) + 1  # the report shows the stages in this order
    health = Health(args.port)
    try:
        say(f"{args.stage} at {args.url}: {args.workers} worker(s), shape {args.shape}")
        run = run_stage(
            target, settings, args.out / args.stage, Progress(), order, None, args.sample_every
        )
        (args.out / COMPLETE).write_text(f"{args.stage}\n")
        health.complete.set()
        say(f"{args.stage}: {run.get('error') or 'done'}; results in {args.out / args.stage}")
        say(f"holding them {args.hold:.0f} s for kubectl cp (make fetch-cluster)")
        # SIGTERM (raised as KeyboardInterrupt): the pod is deleted, the results were fetched
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.hold)
        return 1 if run.get("error") else 0
    finally:
        health.close()
