"""commit-stock: on shop.order.confirmed, the order's held stock becomes sold.

Replies shop.stock.committed, which tells the orders context the step is done
(until then the re-drive publishes the outcome again).
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


class CommitStock(EventFunction):
    name = "commit-stock"
    context = "inventory"
    step = "commit stock"
    consumes = (saga_events.ORDER_CONFIRMED,)

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent:
        order_id = order_id_of(saga_events.data_of(event))
        reservation = inventory.commit(session, order_id)
        if reservation is not None and reservation.status is ReservationStatus.COMMITTED:
            after_commit(metrics.STOCK_RESERVATIONS.labels("committed").inc)
        return acknowledgement(saga_events.STOCK_COMMITTED, order_id, self.name)


def new() -> CommitStock:
    return CommitStock()
