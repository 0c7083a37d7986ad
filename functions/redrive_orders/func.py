"""redrive-orders: on each ping (a Knative PingSource), publish what lost its way again.

Two kinds of order lost their way:

- An order pending for longer than the threshold: its shop.order.placed was
  never published (a crash after the write), or an event of its saga ended as a
  dead letter. Publishing shop.order.placed again, with the same event id,
  replays the saga: each step that already ran answers its recorded reply, and
  the first step that never ran runs now. The order is claimed first, for the
  threshold (shop/usecases/order_claims.py, `claim_stuck`): each copy published
  may hold several deliveries at the broker, so an order that stays pending (a
  step down or overloaded) is published again once per threshold, not on every
  ping by every replica; a claim that ends with the order still pending makes it
  due again.
- A final order that still owes a step after it (its stock settled, its
  customer told) for longer than the threshold: the outcome event, or the
  step's acknowledgement, was lost or dead-lettered. Publishing the outcome
  again (same id) makes each step that ran answer its acknowledgement again and
  the one that did not run now. The order is claimed first (its wait restarts),
  so replicas and the next rounds do not publish it again meanwhile.

What to publish is read, and claimed, in one short transaction that ends before
anything is published: a slow broker never holds the orders database. A ping
needs no deduplication (publishing again is what the function is for), so pings
are not recorded in the inbox.

Each round that finds work is a trace of its own ("re-drive orders", with a
"re-drive order" span per order), which the events it publishes carry on; a
round that finds nothing records no span, so the ping (every 5 s locally)
does not fill the traces with empty rounds. The deliveries of the ping are not
traced at all (functions/runtime/serve.py, `traces_deliveries`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from cloudevents.core.base import BaseCloudEvent
from opentelemetry.context import Context

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction
from functions.runtime.event_payloads import outcome_event, placed_event
from shop.telemetry import metrics
from shop.telemetry.tracing import order_span, traced_client, tracer
from shop.usecases import followups, order_claims, orders

DEFAULT_AFTER = 30.0


class RedriveOrders(EventFunction):
    name = "redrive-orders"
    context = "orders"
    traces_deliveries = False  # a round that has work starts its own trace

    def start(self, environ=None) -> None:
        super().start(environ)
        self.http = traced_client(httpx.Client(timeout=self.settings.call_timeout))

    def stop(self) -> None:
        self.http.close()
        super().stop()

    def once(self, event: BaseCloudEvent) -> None:
        after = self.settings.redrive_older_than
        if after is None:
            after = float(saga_events.data_of(event).get("older_than_seconds", DEFAULT_AFTER))
        now = datetime.now(UTC)
        threshold = now - timedelta(seconds=after)
        claimed_until = now + timedelta(seconds=after)
        with self.database.writing() as session:
            oldest_pending = orders.stuck(session, threshold, limit=1)  # claimed or not
            stuck = order_claims.claim_stuck(session, threshold, claimed_until, now)
            unsettled = followups.claim_overdue(session, threshold, now)
        oldest = oldest_pending[0].created_at if oldest_pending else None
        metrics.REDRIVE_RUNS.inc()
        metrics.REDRIVE_ORDERS.inc(len(stuck) + len(unsettled))
        metrics.ORDERS_PENDING_OLDEST.set((now - oldest).total_seconds() if oldest else 0.0)
        if not stuck and not unsettled:
            return None
        # The transaction has ended: publish, in a trace of this round's own.
        with tracer().start_as_current_span("re-drive orders", context=Context()) as round_:
            round_.set_attribute("shop.redrive.orders", len(stuck) + len(unsettled))
            for order in stuck:
                why = f"pending since {order.created_at}"
                self._publish(order.id, partial(placed_event, order, self.name), why)
            for order in unsettled:
                why = f"{order.status}, follow-ups owed"
                self._publish(order.id, partial(outcome_event, order, self.name), why)
        return None

    def _publish(self, order_id: str, make: Callable[[], BaseCloudEvent], why: str) -> None:
        """Publish the event `make` builds, in the order's span (the event carries it)."""
        with order_span("re-drive order", order_id):
            event = make()
            try:
                saga_events.publish(self.http, self.settings.k_sink, event)
                self.log.info("re-drove order %s (%s): %s", order_id, why, event.get_type())
            except httpx.HTTPError as error:
                self.log.warning("could not re-drive %s: %s", order_id, error)


def new() -> RedriveOrders:
    return RedriveOrders()
