"""A fake stage that traces like a real one: it follows the caller's `traceparent` and writes
its spans with OpenTelemetry's SDK and file exporter, two "processes" to two files.

Its own sample ratio is 0: only a caller's sampled decision gets a span recorded,
as with a real stage under a low TRACE_SAMPLE_RATIO. Orders are final at the
second poll; TF-0001 is sold out, so the representative order has to look for stock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.exporter.otlp.json.file.trace_exporter import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shop.telemetry.tracing import ORDER_ID

ORDER = "ord_fake1"


def _provider(service: str, traces: Path | None) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}),
        sampler=ParentBased(TraceIdRatioBased(0.0)),
    )
    if traces is not None:
        traces.mkdir(parents=True, exist_ok=True)
        provider.add_span_processor(
            SimpleSpanProcessor(FileSpanExporter(traces / f"{service}-1.jsonl"))
        )
    return provider


@contextmanager
def fake_stage(traces: Path | None, skip_parent: bool = False) -> Iterator[tuple[str, list]]:
    """(base URL, the order bodies it received) while it serves. `traces` None: it writes no
    span; `skip_parent`: the edge span is never written, so its child's parent is missing."""
    edge = _provider("fake-edge", None if skip_parent else traces)
    worker = _provider("fake-worker", traces)
    received: list[dict] = []
    polls = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/api/stock/"):
                sku = self.path.rsplit("/", 1)[1]
                self._answer(200, {"sku": sku, "available": 0 if sku == "TF-0001" else 5})
            elif self.path == f"/api/orders/{ORDER}":
                polls["count"] += 1
                status = "confirmed" if polls["count"] >= 2 else "pending"
                self._answer(200, {"id": ORDER, "status": status, "reason": None})
            else:
                self._answer(404, {})

        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            context = TraceContextTextMapPropagator().extract(dict(self.headers.items()))
            root = edge.get_tracer("fake").start_span(
                "POST /api/orders", context=context, attributes={ORDER_ID: ORDER}
            )
            worker.get_tracer("fake").start_span(
                "place order", context=set_span_in_context(root), attributes={ORDER_ID: ORDER}
            ).end()
            root.end()
            self._answer(202, {"id": ORDER, "status": "pending", "reason": None})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        edge.shutdown()
        worker.shutdown()
