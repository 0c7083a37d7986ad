"""commit-stock: on shop.order.confirmed, the order's held stock becomes sold."""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent
from sqlalchemy.orm import Session

from functions.runtime import events
from functions.runtime.event_function import EventFunction
from shop.services import inventory


class CommitStock(EventFunction):
    name = "commit-stock"
    context = "inventory"

    def process(self, session: Session, event: BaseCloudEvent) -> None:
        inventory.commit(session, events.data_of(event)["id"])
        return None


def new() -> CommitStock:
    return CommitStock()
