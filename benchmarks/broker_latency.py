"""The broker's own latency per delivery: ingest to the subscriber's call, no handler.

Starts the local broker (as the functions stage runs it, the real manifests) with
every subscriber pointed at a no-op subscriber in this process, and POSTs
shop.order.placed events at it one at a time. The broker stamps each event it
ingests with `knativearrivaltime` (microseconds, wall clock); the subscriber reads
the clock the moment it is called, so the difference is the broker's own work
(routing, the task hand-off, the outgoing POST) and no handler's. Both clocks are
this machine's, read by two processes.

    .venv/bin/python -m benchmarks.broker_latency
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from cloudevents.core.bindings.http import to_binary_event

from functions.runtime.saga_events import ORDER_PLACED, new_event
from stages.definitions import EVENT_FUNCTIONS, SINK_FUNCTIONS, _uvicorn
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port
from stages.listeners import Listener


@dataclass
class NoOpSubscriber:
    """A raw ASGI app answering 204 at once; notes each call's lag behind the ingest."""

    lags_ms: list[float] = field(default_factory=list)
    called: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope, receive, send) -> None:
        now = time.time()
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        arrival = headers.get(b"ce-knativearrivaltime")
        if arrival is not None:
            stamped = datetime.fromisoformat(arrival.decode().replace("Z", "+00:00"))
            self.lags_ms.append((now - stamped.timestamp()) * 1000)
            self.called.set()
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _serve_in_thread(app: NoOpSubscriber, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(lags: list[float]) -> tuple[float, float]:
    """p50 and p95, in ms."""
    return percentile(lags, 50), percentile(lags, 95)


def measure(events: int, work: Path | None = None) -> list[float]:
    """The lag of `events` deliveries (after a warm-up), in ms."""
    work = work or Path(tempfile.mkdtemp(prefix="threefold-broker-"))
    subscriber = NoOpSubscriber()
    port = free_port()
    server = _serve_in_thread(subscriber, port)
    url = f"http://127.0.0.1:{port}"
    listener = Listener()
    broker = ProcessSpec(
        name="broker",
        argv=_uvicorn("functions.broker.app:create_app"),
        port=listener.port,
        listener=listener,
        env={
            "BROKER_SUBSCRIBERS": json.dumps(
                {n: url for n in {**EVENT_FUNCTIONS, **SINK_FUNCTIONS}}
            ),
            "PING_INTERVAL": "0",
        },
    )
    try:
        with Launcher([broker], sink=FileSink(work / "broker.log")), httpx.Client() as client:
            for i in range(events + 20):
                order_id = f"ord_bench{i}"
                data = {"order_id": order_id, "lines": {"TF-0001": 1}, "amount_cents": 100,
                        "currency": "EUR", "payment_token": "tok_visa"}  # fmt: skip
                message = to_binary_event(new_event(ORDER_PLACED, order_id, data, "bench"))
                subscriber.called.clear()
                client.post(broker.url, headers=message.headers, content=message.body)
                if not subscriber.called.wait(10):
                    raise SystemExit("the no-op subscriber was never called")
                if i == 19:  # warm-up done: connections open, code paths hot
                    subscriber.lags_ms.clear()
                time.sleep(0.002)  # let the delivery finish: one in flight at a time
    finally:
        server.should_exit = True
    return list(subscriber.lags_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args(argv)
    lags = measure(args.events)
    print(
        f"broker's own latency (ingest -> no-op subscriber called), {len(lags)} deliveries: "
        f"p50 {percentile(lags, 50):.2f} ms, p95 {percentile(lags, 95):.2f} ms, "
        f"max {max(lags):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
