"""finalize-order: on the stock or payment outcome, confirm or reject the order.

    shop.stock.rejected     -> rejected (out_of_stock)
    shop.payment.succeeded  -> confirmed
    shop.payment.failed     -> rejected (payment_declined / payment_failed)

The order state machine makes a repeated outcome a no-op; an order that is
already final answers its outcome again, so the saga still moves on.
"""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy.orm import Session

from functions.runtime import events
from functions.runtime.event_function import EventFunction
from functions.runtime.order_events import outcome_event
from shop.domain.orders import RejectReason
from shop.services import orders


class FinalizeOrder(EventFunction):
    name = "finalize-order"
    context = "orders"

    def process(self, session: Session, event: BaseCloudEvent) -> BaseCloudEvent:
        data = events.data_of(event)
        order = orders.get(session, data["order_id"], for_update=True)
        if not order.status.is_final:
            if event.get_type() == events.STOCK_REJECTED:
                order.reject(RejectReason.OUT_OF_STOCK)
            else:
                order.settle(data["status"])
            orders.save(session, order)
        return outcome_event(order, self.name)


def new() -> FinalizeOrder:
    return FinalizeOrder()
