"""A stand-in subscriber for the broker tests: records every POST, answers as its path says.

python tests/functions/fake_subscriber.py --port 8123

What a POST gets depends on the path (anything after the parts shown is ignored,
so one behaviour can serve several triggers, /ok/a, /ok/b, ...):
    /ok/...                    204, empty
    /reply/<type>/...          200 with a CloudEvent of <type> in binary mode
    /reply-structured/<type>   200 with a CloudEvent of <type> in structured mode
    /flaky/<n>/...             503 for the first <n> deliveries of each event id, then 204
    /fail/...                  500 with the body "boom: <event id>"
    /plain/...                 200 text/plain "hello, not an event"
    /slow/<seconds>/...        sleeps that long, then 204
    /gate/<name>/...           waits until the gate <name> is opened, then 204
    /status/<code>/...         <code> with the body "status <code>", every time
The reply's id is "<incoming id>:reply", its subject the incoming one's, and its
traceparent extension the HTTP `traceparent` the POST came with (as a function's
reply carries its span's).

GET /received lists every POST, oldest first: path, the ce-* headers (as "ce"),
content type, body (JSON-decoded when it is JSON), the status answered and the
wall-clock time it arrived (recorded before any sleep). ?path=<prefix> filters.
PUT /gates/<name> opens that gate: every POST waiting at it is answered, and the
ones that come later pass at once. A test holds deliveries in flight this way for
as long as it needs them there, instead of for a time it hopes is long enough.
GET /readyz answers 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter, defaultdict

import uvicorn
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

received: list[dict] = []
deliveries: Counter[tuple[str, str]] = Counter()
gates: dict[str, asyncio.Event] = defaultdict(asyncio.Event)


def _reply(request: Request, kind: str, reply_type: str) -> Response:
    incoming = request.headers.get("ce-id", "none")
    attributes = {
        "type": reply_type,
        "source": "/tests/fake-subscriber",
        "id": f"{incoming}:reply",
        "datacontenttype": "application/json",
    }
    if request.headers.get("ce-subject"):
        attributes["subject"] = request.headers["ce-subject"]
    if request.headers.get("traceparent"):
        attributes["traceparent"] = request.headers["traceparent"]
    event = CloudEvent(attributes=attributes, data={"in_reply_to": incoming})
    message = to_binary_event(event) if kind == "reply" else to_structured_event(event)
    return Response(message.body, 200, headers=message.headers)


async def answer(request: Request, parts: list[str]) -> Response:
    kind = parts[0] if parts else ""
    event_id = request.headers.get("ce-id", "")
    if kind in ("reply", "reply-structured") and len(parts) > 1:
        return _reply(request, kind, parts[1])
    if kind == "flaky" and len(parts) > 1:
        deliveries[(request.url.path, event_id)] += 1
        if deliveries[(request.url.path, event_id)] <= int(parts[1]):
            return Response("not yet", 503)
        return Response(status_code=204)
    if kind == "fail":
        return Response(f"boom: {event_id}", 500, media_type="text/plain")
    if kind == "plain":
        return Response("hello, not an event", 200, media_type="text/plain")
    if kind == "status" and len(parts) > 1:
        return Response(f"status {parts[1]}", int(parts[1]), media_type="text/plain")
    if kind == "slow" and len(parts) > 1:
        await asyncio.sleep(float(parts[1]))
        return Response(status_code=204)
    if kind == "gate" and len(parts) > 1:
        await gates[parts[1]].wait()
        return Response(status_code=204)
    return Response(status_code=204)


async def post(request: Request) -> Response:
    arrived = time.time()
    body = await request.body()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = body.decode(errors="replace")
    record = {
        "path": request.url.path,
        "ce": {k[3:]: v for k, v in request.headers.items() if k.startswith("ce-")},
        "content_type": request.headers.get("content-type"),
        "traceparent": request.headers.get("traceparent"),
        "data": data,
        "at": arrived,
        "status": None,
    }
    received.append(record)
    response = await answer(request, [p for p in request.url.path.split("/") if p])
    record["status"] = response.status_code
    return response


async def list_received(request: Request) -> Response:
    prefix = request.query_params.get("path", "")
    return JSONResponse([r for r in received if r["path"].startswith(prefix)])


async def open_gate(request: Request) -> Response:
    gates[request.path_params["name"]].set()
    return Response(status_code=204)


async def ready(_request: Request) -> Response:
    # The launcher accepts readiness only from the process it started.
    return JSONResponse({"status": "ok", "instance": os.environ.get("THREEFOLD_INSTANCE")})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(
        routes=[
            Route("/readyz", ready, methods=["GET"]),
            Route("/received", list_received, methods=["GET"]),
            Route("/gates/{name}", open_gate, methods=["PUT"]),
            Route("/{path:path}", post, methods=["POST"]),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
