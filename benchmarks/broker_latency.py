"""The broker's own latency per delivery: ingest to the subscriber's call, no handler.

Starts the local broker (as the functions stage runs it, the real manifests) with
every subscriber pointed at a no-op subscriber (a process of its own), and POSTs
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
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from cloudevents.core.bindings.http import to_binary_event

from functions.runtime.saga_events import ORDER_PLACED, new_event
from shop.instance import this_instance
from stages.definitions import EVENT_FUNCTIONS, PYTHON, SINK_FUNCTIONS, _uvicorn
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port
from stages.listeners import Listener


@dataclass
class NoOpSubscriber:
    """A raw ASGI app answering a POST with 204 at once, noting its lag behind the ingest;
    GET /lags answers the lags noted so far, GET /readyz the launcher's readiness check."""

    lags_ms: list[float] = field(default_factory=list)

    async def __call__(self, scope, receive, send) -> None:
        now = time.time()
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        arrival = headers.get(b"ce-knativearrivaltime")
        if arrival is not None:
            stamped = datetime.fromisoformat(arrival.decode().replace("Z", "+00:00"))
            self.lags_ms.append((now - stamped.timestamp()) * 1000)
        while (await receive()).get("more_body"):
            pass
        body = b""
        if scope["path"] == "/lags":
            body = json.dumps(self.lags_ms).encode()
        elif scope["path"] == "/readyz":
            body = json.dumps({"status": "ok", "instance": this_instance()}).encode()
        status = 200 if body else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})


def serve_subscriber(port: int) -> None:
    """The subscriber in a process of its own, so nothing of this one's (the launcher's
    log readers, the client) competes with it for the interpreter."""
    uvicorn.run(NoOpSubscriber(), host="127.0.0.1", port=port, log_level="warning")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(lags: list[float]) -> tuple[float, float]:
    """p50 and p95, in ms."""
    return percentile(lags, 50), percentile(lags, 95)


WARM_UP = 20
PACE = 0.01  # seconds between events: each delivery is done before the next arrives


def measure(events: int, work: Path | None = None) -> list[float]:
    """The lag of `events` deliveries (after a warm-up), in ms."""
    work = work or Path(tempfile.mkdtemp(prefix="threefold-broker-"))
    port = free_port()
    subscriber = ProcessSpec(
        "subscriber",
        [PYTHON, "-m", "benchmarks.broker_latency", "--serve-subscriber", str(port)],
        port,
    )
    listener = Listener()
    broker = ProcessSpec(
        name="broker",
        argv=_uvicorn("functions.broker.app:create_app"),
        port=listener.port,
        listener=listener,
        env={
            "BROKER_SUBSCRIBERS": json.dumps(
                {n: subscriber.url for n in {**EVENT_FUNCTIONS, **SINK_FUNCTIONS}}
            ),
            "PING_INTERVAL": "0",
        },
    )
    specs = [subscriber, broker]
    with Launcher(specs, sink=FileSink(work / "processes.log")), httpx.Client() as client:
        for i in range(WARM_UP + events):
            order_id = f"ord_bench{i}"
            data = {"order_id": order_id, "lines": {"TF-0001": 1}, "amount_cents": 100,
                    "currency": "EUR", "payment_token": "tok_visa"}  # fmt: skip
            message = to_binary_event(new_event(ORDER_PLACED, order_id, data, "bench"))
            client.post(broker.url, headers=message.headers, content=message.body)
            time.sleep(PACE)
        deadline = time.monotonic() + 10
        while len(lags := client.get(f"{subscriber.url}/lags").json()) < WARM_UP + events:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(lags)} of {WARM_UP + events} events delivered")
            time.sleep(0.05)
    return lags[WARM_UP:]  # after the warm-up: connections open, code paths hot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--serve-subscriber", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_subscriber:
        serve_subscriber(args.serve_subscriber)
        return 0
    lags = measure(args.events)
    print(
        f"broker's own latency (ingest -> no-op subscriber called), {len(lags)} deliveries: "
        f"p50 {percentile(lags, 50):.2f} ms, p95 {percentile(lags, 95):.2f} ms, "
        f"max {max(lags):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
