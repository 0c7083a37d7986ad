"""Outcome events name their order as `order_id`, as every saga event does; commit-stock
and release-stock also read one published before that (the order's `id` only)."""

from __future__ import annotations

import pytest
from cloudevents.core.v1.event import CloudEvent

from functions.commit_stock.func import new as commit_stock
from functions.release_stock.func import new as release_stock
from functions.runtime import saga_events
from functions.runtime.event_payloads import outcome_event
from shop.domain.catalog import Product
from shop.domain.inventory import ReservationStatus
from shop.domain.orders import RejectReason, price_order
from shop.persistence.database import Database
from shop.persistence.inventory_store import InventoryStore
from shop.persistence.migrate import upgrade
from shop.usecases import inventory

SKU = "OUT-0001"


def _order(status: str):
    order = price_order(
        "a@example.com", "tok_visa", [(SKU, 2)], {SKU: Product(SKU, "Mug", "", 500, "EUR")}
    )
    if status == "confirmed":
        order.confirm()
    else:
        order.reject(RejectReason.PAYMENT_DECLINED)
    return order


def reserved_inventory(tmp_path, order) -> str:
    """A fresh inventory database (its URL) holding `order`'s stock reserved."""
    url = f"sqlite:///{tmp_path / 'inventory.sqlite'}"
    upgrade(url, ["inventory"])
    database = Database(url)
    try:
        with database.writing() as session:
            inventory.track(session, SKU)
            inventory.restock(session, SKU, 5)
            inventory.reserve(session, order.id, order.quantities)
    finally:
        database.dispose()
    return url


def _as_published_before(event: CloudEvent) -> CloudEvent:
    """The same event as it was published before outcome events carried `order_id`."""
    data = {k: v for k, v in saga_events.data_of(event).items() if k != "order_id"}
    return CloudEvent(attributes=event.get_attributes(), data=data)


@pytest.mark.parametrize("old_format", [False, True], ids=["order_id", "id-only"])
@pytest.mark.parametrize(
    ("status", "function", "settled"),
    [
        ("confirmed", commit_stock, ReservationStatus.COMMITTED),
        ("rejected", release_stock, ReservationStatus.RELEASED),
    ],
)
def test_the_follow_up_steps_find_the_order_of_an_outcome(
    tmp_path, monkeypatch, old_format, status, function, settled
):
    order = _order(status)
    url = reserved_inventory(tmp_path, order)
    event = outcome_event(order, "test")
    assert saga_events.data_of(event)["order_id"] == order.id == saga_events.data_of(event)["id"]
    monkeypatch.setenv("INVENTORY_DATABASE_URL", url)
    step = function()
    step.start()
    try:
        reply = step.once(_as_published_before(event) if old_format else event)
        with step.database.reading() as session:
            reservation = InventoryStore(session).reservation(order.id)
    finally:
        step.stop()
    assert saga_events.data_of(reply) == {"order_id": order.id}
    assert reservation is not None and reservation.status is settled
