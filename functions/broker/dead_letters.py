"""Dead letters: the deliveries whose retries are exhausted (or not allowed).

A dead letter is the event with Knative's knativeerror* extensions (where it
failed, the status, a piece of the body), kept in the broker's own store (GET
/dead-letters), appended to DEAD_LETTER_FILE, and POSTed to the trigger's
deadLetterSink when that resolves to a URL.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from functions.broker import tracing, wire_format
from functions.broker.delivery import Attempt, Sender, error_extensions
from functions.broker.routing import Route

log = logging.getLogger("broker")

DEAD_LETTERS_KEPT = 10_000  # the in-memory store keeps the newest ones


class DeadLetters:
    """The broker's own dead-letter sink: inspectable in memory, optionally in a file."""

    def __init__(self, path: Path | None = None) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=DEAD_LETTERS_KEPT)
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self.path is not None:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    def clear(self) -> None:
        """Empty the store (the file keeps what it has)."""
        self.records.clear()

    async def take(
        self,
        route: Route,
        event: BaseCloudEvent,
        last: Attempt,
        attempts: int,
        sender: Sender | None,
        parent: Context | None = None,
    ) -> None:
        """Keep `event`, which `route` could not deliver, log it, and forward it to the
        trigger's deadLetterSink when it has a URL (`sender` None: the store only).
        With `parent` (the event's trace), the dead letter is a span ("dead letter
        <type>", an error) and the delivery to the sink its child."""
        if parent is None:
            await self._take(route, event, last, attempts, sender, None)
            return
        attributes = tracing.event_attributes(event) | {
            tracing.TRIGGER: route.name,
            "broker.attempts": attempts,
            "broker.dead_letter_sink": route.dead_letter_url or "store",
        }
        with tracing.start_span(
            f"dead letter {event.get_type()}", parent, SpanKind.INTERNAL, **attributes
        ) as span:
            span.set_status(Status(StatusCode.ERROR, last.error or last.outcome))
            await self._take(route, event, last, attempts, sender, tracing.here())

    async def _take(
        self,
        route: Route,
        event: BaseCloudEvent,
        last: Attempt,
        attempts: int,
        sender: Sender | None,
        parent: Context | None,
    ) -> None:
        destination = route.url or route.trigger.subscriber.describe()
        dead = wire_format.with_extensions(event, error_extensions(destination, last))
        self.add(
            {
                "trigger": route.name,
                "broker": route.trigger.broker,
                "subscriber": destination,
                "attempts": attempts,
                "error": last.error,
                "code": last.code,
                "dead_letter_sink": route.dead_letter_url,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "event": wire_format.describe(dead),
            }
        )
        log.warning(
            "dead-lettered type=%s subject=%s id=%s trigger=%s subscriber=%s attempts=%d "
            "code=%d error=%s sink=%s",
            event.get_type(),
            event.get_subject() or "-",
            event.get_id(),
            route.name,
            destination,
            attempts,
            last.code,
            last.error,
            route.dead_letter_url or "store",
        )
        if route.dead_letter_url and sender is not None:
            label = f"trigger={route.name} dead-letter-sink"
            result = await sender.deliver(
                dead, route.dead_letter_url, route.policy, label, parent=parent, trigger=route.name
            )
            if not result.delivered:
                log.error(
                    "dead-letter sink %s refused id=%s: it stays in /dead-letters only",
                    route.dead_letter_url,
                    event.get_id(),
                )
