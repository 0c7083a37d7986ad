"""release-stock: on shop.payment.failed, give the order's held stock back (compensation)."""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy.orm import Session

from functions.runtime import events
from functions.runtime.event_function import EventFunction
from shop.services import inventory


class ReleaseStock(EventFunction):
    name = "release-stock"
    context = "inventory"

    def process(self, session: Session, event: BaseCloudEvent) -> None:
        inventory.release(session, events.data_of(event)["order_id"])
        return None


def new() -> ReleaseStock:
    return ReleaseStock()
