"""redrive-orders: on each ping (a Knative PingSource), publish stuck orders again.

An order pending for longer than the threshold lost its way: its
shop.order.placed was never published (a crash after the write), or an event
of its saga ended as a dead letter. Publishing shop.order.placed again, with
the same event id, replays the saga: each step that already ran answers its
recorded reply, and the first step that never ran runs now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from cloudevents.core.base import BaseCloudEvent
from sqlalchemy.orm import Session

from functions.runtime import events
from functions.runtime.event_function import EventFunction
from functions.runtime.order_events import placed_event
from shop.services import orders

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

    def process(self, session: Session, event: BaseCloudEvent) -> None:
        after = self.settings.redrive_after
        if after is None:
            after = float(events.data_of(event).get("older_than_seconds", DEFAULT_AFTER))
        stuck = orders.stuck(session, datetime.now(UTC) - timedelta(seconds=after))
        for order in stuck:
            try:
                events.publish(self.http, self.settings.k_sink, placed_event(order, self.name))
                self.log.info("re-drove order %s (pending since %s)", order.id, order.created_at)
            except httpx.HTTPError as error:
                self.log.warning("could not re-drive %s: %s", order.id, error)
        return None


def new() -> RedriveOrders:
    return RedriveOrders()
