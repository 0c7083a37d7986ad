"""An event function: one CloudEvent in, at most one CloudEvent out, effects exactly once.

Delivery is at least once, so before acting the function looks the event id up
in its context's inbox. New: it acts and records the id, with the reply it
sends, in the same transaction. Seen before: it acts not again and answers the
recorded reply, so a redelivery (or a re-drive) moves the saga on exactly as
the first delivery did. A reply is a CloudEvent the broker routes on; no reply
is an empty 204, never a plain body (which Knative's broker counts as a failure).

Telemetry: the server span of a delivery is named after the event ("process
shop.order.placed", OpenTelemetry's messaging convention) and carries its
CloudEvents attributes and order; a new event's work runs in the saga step's
span (`step`, e.g. "reserve stock"), whose trace context the reply carries.
What a step changed is counted (`after_commit`) once its transaction commits,
never for an event seen before.

The inbox keeps an event id for INBOX_RETENTION_DAYS. After answering an event,
a function prunes at most INBOX_PRUNE_BATCH older rows of its context's inbox,
at most once every INBOX_PRUNE_EVERY seconds (so on redrive-orders, the ping).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry import trace
from sqlalchemy import Connection

from functions.runtime import saga_events
from functions.runtime.health import probe_answer, readiness
from functions.runtime.settings import FunctionSettings
from shop.persistence.database import Database
from shop.persistence.inbox_store import NOT_SEEN, InboxStore
from shop.telemetry.tracing import ORDER_ID, order_span

# What to do once the transaction of the event being processed has committed.
_on_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar("on_commit", default=None)


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` (count a metric) once the event's transaction has committed; never if
    it rolls back. Called from `process`."""
    pending = _on_commit.get()
    if pending is None:
        raise RuntimeError("after_commit() outside an event's processing")
    pending.append(action)


def name_server_span(event: BaseCloudEvent) -> None:
    """Name the delivery's server span after the event, with its CloudEvents attributes
    and the order it is about (the subject of every saga event)."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.update_name(f"process {event.get_type()}")
    span.set_attributes(
        {
            "messaging.operation.type": "process",
            "cloudevents.event_id": event.get_id(),
            "cloudevents.event_type": event.get_type(),
            "cloudevents.event_source": event.get_source(),
        }
    )
    if event.get_subject():
        span.set_attribute(ORDER_ID, event.get_subject())


class RetryLater(Exception):
    """Not now: answer 503, so the broker delivers the event again after its backoff."""


class EventFunction:
    """Subclasses set `name`, `context` and `consumes`, and implement `process`."""

    name = "function"
    context = ""
    # The event types the function is subscribed to: one Trigger each, on the cluster and
    # locally (k8s/functions/triggers.yaml; tests/k8s checks the two agree).
    consumes: tuple[str, ...] = ()
    # The saga step's span around `process` ("reserve stock"); "" for none.
    step = ""

    def start(self, _environ: dict[str, str] | None = None) -> None:
        self.settings = FunctionSettings()
        self.log = logging.getLogger(self.name)
        self.database = Database(self.settings.database(self.context))
        self._next_prune = 0.0  # time.monotonic() of the next inbox prune

    def stop(self) -> None:
        self.database.dispose()

    def alive(self) -> bool:
        return True

    def ready(self) -> tuple[bool, str]:
        return probe_answer(readiness([self.database]))

    async def handle(self, scope, _receive, send) -> None:
        event = scope["event"]
        name_server_span(event)
        try:
            reply = await asyncio.to_thread(self.once, event)
        except RetryLater as why:
            self.log.info("%s %s: %s, retry later", event.get_type(), event.get_id(), why)
            await send.http({"type": "http.response.start", "status": 503, "headers": []})
            await send.http({"type": "http.response.body", "body": b""})
            return
        if reply is None:
            await send.http({"type": "http.response.start", "status": 204, "headers": []})
            await send.http({"type": "http.response.body", "body": b""})
        else:
            await send(reply)
        if time.monotonic() >= self._next_prune:
            await asyncio.to_thread(self.prune_inbox)

    def prune_inbox(self) -> int:
        """One bounded batch of inbox rows older than the retention; how many went."""
        settings = self.settings
        self._next_prune = time.monotonic() + settings.inbox_prune_every
        before = datetime.now(UTC) - timedelta(days=settings.inbox_retention_days)
        try:
            with self.database.writing() as session:
                pruned = InboxStore(session, self.context).prune(before, settings.inbox_prune_batch)
        except Exception:  # housekeeping must never fail an event
            self.log.exception("pruning the %s inbox failed", self.context)
            return 0
        if pruned:
            self.log.info("pruned %d %s inbox row(s) older than %s", pruned, self.context, before)
        return pruned

    def once(self, event: BaseCloudEvent) -> BaseCloudEvent | None:
        """Process `event` unless its id is in the inbox; either way, the reply to send."""
        committed: list[Callable[[], None]] = []
        token = _on_commit.set(committed)
        try:
            with self.database.writing() as session:
                inbox = InboxStore(session, self.context)
                seen = inbox.reply_to(self.name, event.get_id())
                if seen is not NOT_SEEN:
                    self.log.info("%s %s seen before: same reply", event.get_type(), event.get_id())
                    return _retraced(saga_events.decode(seen))
                with self.step_span(event):
                    reply = self.process(session, event)
                    inbox.record(self.name, event.get_id(), saga_events.encode(reply))
        finally:
            _on_commit.reset(token)
        for action in committed:
            action()
        self.log.info(
            "%s %s -> %s", event.get_type(), event.get_id(), reply.get_type() if reply else "-"
        )
        return reply

    def step_span(self, event: BaseCloudEvent) -> AbstractContextManager[Any]:
        """The saga step's span for `event` (its order the event's subject), if any."""
        subject = event.get_subject()
        if not self.step or not subject:
            return nullcontext()
        return order_span(self.step, subject)

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent | None:
        raise NotImplementedError


def _retraced(reply: BaseCloudEvent | None) -> BaseCloudEvent | None:
    return None if reply is None else saga_events.retraced(reply)
