"""redrive-orders: on each ping (a Knative PingSource), publish what lost its way again.

Two kinds of order lost their way:

- An order pending for longer than the threshold: its shop.order.placed was
  never published (a crash after the write), or an event of its saga ended as a
  dead letter. Publishing shop.order.placed again, with the same event id,
  replays the saga: each step that already ran answers its recorded reply, and
  the first step that never ran runs now.
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
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from cloudevents.core.base import BaseCloudEvent

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction
from functions.runtime.event_payloads import outcome_event, placed_event
from shop.usecases import followups, orders

DEFAULT_AFTER = 30.0


class RedriveOrders(EventFunction):
    name = "redrive-orders"
    context = "orders"

    def start(self, environ=None) -> None:
        super().start(environ)
        self.http = httpx.Client(timeout=self.settings.call_timeout)

    def stop(self) -> None:
        self.http.close()
        super().stop()

    def once(self, event: BaseCloudEvent) -> None:
        after = self.settings.redrive_older_than
        if after is None:
            after = float(saga_events.data_of(event).get("older_than_seconds", DEFAULT_AFTER))
        now = datetime.now(UTC)
        threshold = now - timedelta(seconds=after)
        with self.database.writing() as session:
            stuck = orders.stuck(session, threshold)
            unsettled = followups.claim_overdue(session, threshold, now)
        # The transaction has ended: publish.
        for order in stuck:
            self._publish(placed_event(order, self.name), f"pending since {order.created_at}")
        for order in unsettled:
            self._publish(outcome_event(order, self.name), f"{order.status}, follow-ups owed")
        return None

    def _publish(self, event: BaseCloudEvent, why: str) -> None:
        order_id = event.get_subject()
        try:
            saga_events.publish(self.http, self.settings.k_sink, event)
            self.log.info("re-drove order %s (%s): %s", order_id, why, event.get_type())
        except httpx.HTTPError as error:
            self.log.warning("could not re-drive %s: %s", order_id, error)


def new() -> RedriveOrders:
    return RedriveOrders()
