"""notify-customer: on shop.order.confirmed / shop.order.rejected, record the message once.

Replies shop.customer.notified, which tells the orders context the step is done.
"""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy import Connection

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction, after_commit
from functions.runtime.event_payloads import acknowledgement
from shop.schemas import OrderOut
from shop.telemetry import metrics
from shop.usecases import notifications


class NotifyCustomer(EventFunction):
    name = "notify-customer"
    context = "notifications"
    consumes = (saga_events.ORDER_CONFIRMED, saga_events.ORDER_REJECTED)
    step = "notify customer"

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent:
        order = OrderOut.model_validate(saga_events.data_of(event)).to_domain()
        notifications.notify(session, order)
        after_commit(metrics.NOTIFICATIONS.inc)
        return acknowledgement(saga_events.CUSTOMER_NOTIFIED, order.id, self.name)


def new() -> NotifyCustomer:
    return NotifyCustomer()
