"""notify-customer: on shop.order.confirmed / shop.order.rejected, record the message once."""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy.orm import Session

from functions.runtime import events
from functions.runtime.event_function import EventFunction
from shop.schemas import OrderOut
from shop.services import notifications


class NotifyCustomer(EventFunction):
    name = "notify-customer"
    context = "notifications"

    def process(self, session: Session, event: BaseCloudEvent) -> None:
        order = OrderOut.model_validate(events.data_of(event)).to_domain()
        notifications.notify(session, order)
        return None


def new() -> NotifyCustomer:
    return NotifyCustomer()
