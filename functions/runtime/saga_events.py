"""The saga's CloudEvents: their types and ids, built, sent and read with the cloudevents SDK
(the data each one carries is made in functions/runtime/event_payloads.py).

Every event carries the W3C trace context of the span current when it was made,
as the CloudEvents distributed-tracing extension (`traceparent`, `tracestate`):
the broker's deliveries and the next function's spans join the order's trace.

An event's id is derived from the order and the step (`<order id>:<type>`), so
an event published again (a re-drive, a retried reply) has the same id as the
first time, and every consumer's deduplication on the event id recognises it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import (
    HTTPMessage,
    from_http_event,
    to_binary_event,
    to_structured_event,
)
from cloudevents.core.v1.event import CloudEvent
from opentelemetry import propagate

if TYPE_CHECKING:  # only the publishers use a client: an event function's cold start skips httpx
    import httpx

ORDER_PLACED = "shop.order.placed"
STOCK_RESERVED = "shop.stock.reserved"
STOCK_REJECTED = "shop.stock.rejected"
PAYMENT_SUCCEEDED = "shop.payment.succeeded"
PAYMENT_FAILED = "shop.payment.failed"
ORDER_CONFIRMED = "shop.order.confirmed"
ORDER_REJECTED = "shop.order.rejected"
# Acknowledgements of the steps after an order is final (back to the orders context).
STOCK_COMMITTED = "shop.stock.committed"
STOCK_RELEASED = "shop.stock.released"
CUSTOMER_NOTIFIED = "shop.customer.notified"

SOURCE = "/threefold/functions/"
STRUCTURED = "application/cloudevents+json"

# A broker that is full answers 429 or 503 with Retry-After: try again, a few times.
BUSY = frozenset({429, 503})
PUBLISH_ATTEMPTS = 3
RETRY_AFTER_MAX = 2.0  # seconds: a publisher holds its caller for a few seconds at most
# The CloudEvents distributed-tracing extension: W3C trace context as event attributes.
TRACE_EXTENSIONS = ("traceparent", "tracestate")


def new_event(type_: str, order_id: str, data: dict[str, Any], function: str) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": type_,
            "source": SOURCE + function,
            "id": f"{order_id}:{type_}",
            "subject": order_id,
            "datacontenttype": "application/json",
            **trace_extensions(),
        },
        data=data,
    )


def trace_extensions() -> dict[str, str]:
    """The current span's trace context as extension attributes (none outside a span, or
    with tracing off), written by OpenTelemetry's propagator into a dict carrier."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {name: carrier[name] for name in TRACE_EXTENSIONS if name in carrier}


def retraced(event: BaseCloudEvent) -> CloudEvent:
    """`event` carrying the current span's trace context instead of the one it was made
    with (a reply recorded in the inbox, answered again in another delivery's trace)."""
    attributes = {
        name: value
        for name, value in event.get_attributes().items()
        if name not in TRACE_EXTENSIONS
    }
    return CloudEvent(attributes=attributes | trace_extensions(), data=event.get_data())


def data_of(event: BaseCloudEvent) -> dict[str, Any]:
    data = event.get_data()
    if isinstance(data, bytes | str):
        data = json.loads(data or "{}")
    if not isinstance(data, dict):
        raise ValueError(f"event {event.get_id()} carries no JSON object")
    return data


def encode(event: BaseCloudEvent | None) -> str | None:
    """An event as structured JSON text, to keep it (the inbox stores replies)."""
    return None if event is None else to_structured_event(event).body.decode()


def decode(text: str | None) -> BaseCloudEvent | None:
    if text is None:
        return None
    return from_http_event(HTTPMessage(headers={"content-type": STRUCTURED}, body=text.encode()))


def publish(
    client: httpx.Client,
    sink: str,
    event: BaseCloudEvent,
    attempts: int = PUBLISH_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST the event to the broker's ingress in binary mode (as Knative's sources do).

    A busy broker (429, 503) is asked again after its Retry-After (at most
    RETRY_AFTER_MAX seconds), `attempts` times in all; then, as for any other failure,
    httpx.HTTPError is raised and the caller leaves the order to the re-drive.
    """
    message = to_binary_event(event)
    for attempt in range(1, attempts + 1):
        answer = client.post(sink, headers=message.headers, content=message.body)
        if answer.status_code not in BUSY or attempt == attempts:
            answer.raise_for_status()
            return
        sleep(retry_after(answer.headers.get("retry-after")))


def retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (delay-seconds), within [0.1, max]."""
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0  # an HTTP-date, or garbage: wait a second
    return min(RETRY_AFTER_MAX, max(0.1, seconds))
