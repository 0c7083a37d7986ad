"""reserve-stock: on shop.order.placed, hold every line or none."""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import Connection

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction, after_commit
from functions.runtime.event_payloads import follow_up
from shop.domain.inventory import ReservationStatus
from shop.telemetry import metrics
from shop.usecases import inventory


class ReserveStock(EventFunction):
    name = "reserve-stock"
    context = "inventory"
    consumes = (saga_events.ORDER_PLACED,)
    step = "reserve stock"

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent:
        data = saga_events.data_of(event)
        reservation = inventory.reserve(session, data["order_id"], data["lines"])
        rejected = reservation.status is ReservationStatus.REJECTED
        result = metrics.STOCK_RESERVATIONS.labels("rejected" if rejected else "reserved")
        after_commit(result.inc)
        if rejected:
            return follow_up(
                saga_events.STOCK_REJECTED, event, self.name, reason=reservation.reason
            )
        return follow_up(saga_events.STOCK_RESERVED, event, self.name)


def new() -> ReserveStock:
    return ReserveStock()
