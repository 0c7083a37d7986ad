"""A recorded Kubernetes API: a local HTTP server that answers with recorded JSON."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
NAMESPACE = "threefold-functions"


@dataclass
class RecordedKubernetes:
    """A local HTTP server that answers list calls with recorded API responses.

    `responses` maps a path to the recorded answers, given in turn (the last
    one again once they run out); any other path answers 404 like the API
    server does for a resource it does not know.
    """

    responses: dict[str, list[dict]]
    asked: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str) -> tuple[int, dict]:
        self.asked.append(path)
        recorded = self.responses.get(path.split("?")[0])
        if not recorded:
            return 404, {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": "the server could not find the requested resource",
                "reason": "NotFound",
                "code": 404,
            }
        served = sum(1 for p in self.asked if p.split("?")[0] == path.split("?")[0])
        return 200, recorded[min(served, len(recorded)) - 1]


def recorded(name: str) -> list[dict]:
    return json.loads((FIXTURES / "kubernetes" / f"{name}.json").read_text())


def api_paths(namespace: str = NAMESPACE) -> dict[str, str]:
    return {
        "deployments": f"/apis/apps/v1/namespaces/{namespace}/deployments",
        "horizontalpodautoscalers": (
            f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
        ),
        "revisions": f"/apis/serving.knative.dev/v1/namespaces/{namespace}/revisions",
    }


def serve(responses: dict[str, list[dict]]) -> tuple[RecordedKubernetes, ThreadingHTTPServer]:
    """Start serving `responses` in a thread; the caller shuts the server down."""
    api = RecordedKubernetes(responses)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = api.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    return api, server


def write_kubeconfig(path: Path, url: str) -> Path:
    """A kubeconfig whose current context is the recorded API at `url`."""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: kind-threefold
  cluster: {{server: "{url}"}}
contexts:
- name: kind-threefold
  context: {{cluster: kind-threefold, user: tester, namespace: {NAMESPACE}}}
current-context: kind-threefold
users:
- name: tester
  user: {{token: recorded}}
"""
    )
    return path
