"""release-stock: on shop.order.rejected, give the order's held stock back (compensation).

On the outcome rather than on shop.payment.failed, so one event, the outcome,
drives every step after the order is final, and publishing it again (the
re-drive) finishes any of them. An order rejected for want of stock holds
nothing; releasing it changes nothing. Replies shop.stock.released.
"""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import Connection

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction, after_commit
from functions.runtime.event_payloads import acknowledgement, order_id_of
from shop.domain.inventory import ReservationStatus
from shop.telemetry import metrics
from shop.usecases import inventory


class ReleaseStock(EventFunction):
    name = "release-stock"
    context = "inventory"
    step = "release stock"
    consumes = (saga_events.ORDER_REJECTED,)

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent:
        order_id = order_id_of(saga_events.data_of(event))
        reservation = inventory.release(session, order_id)
        if reservation is not None and reservation.status is ReservationStatus.RELEASED:
            after_commit(metrics.STOCK_RESERVATIONS.labels("released").inc)
        return acknowledgement(saga_events.STOCK_RELEASED, order_id, self.name)


def new() -> ReleaseStock:
    return ReleaseStock()
