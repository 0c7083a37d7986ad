"""Order use cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from shop.domain.orders import Order, is_order_id
from shop.persistence.orders_store import OrderStore
from shop.usecases.errors import NotFound


def add(session: Connection, order: Order, claimed_until: datetime | None = None) -> Order:
    """Insert a new order; `claimed_until`: its first saga holds it until then (order_claims)."""
    OrderStore(session).add(order, claimed_until)
    return order


def get(session: Connection, order_id: str, for_update: bool = False) -> Order:
    order = OrderStore(session).get(order_id, for_update) if is_order_id(order_id) else None
    if order is None:
        raise NotFound(f"no order with id {order_id}")
    return order


def save(session: Connection, order: Order) -> Order:
    """Write the order's final status: pending -> final once (a conditional UPDATE).

    Answers the stored order: `order` if this call made it final, else the state another
    writer (a second saga, a replica) made final first. The caller goes on with that
    answer, never with its own outcome, so a customer is never told two stories.
    """
    if not order.status.is_final:
        raise ValueError(f"order {order.id} is {order.status}: only a final status is saved")
    store = OrderStore(session)
    if store.finish(order):
        return order
    return get(session, order.id)


def mark_notified(session: Connection, order: Order) -> Order:
    """The customer was told of the order's final status; its saga has nothing left to do."""
    OrderStore(session).mark_notified(order.id)
    order.notified = True
    return order


def by_email(session: Connection, email: str) -> list[Order]:
    return OrderStore(session).by_email(email)


def delete(session: Connection, order_id: str) -> None:
    """Undo an order nothing else has seen yet (its first step could not even be sent)."""
    OrderStore(session).delete(order_id)


def stuck(session: Connection, older_than: datetime, limit: int = 100) -> list[Order]:
    """Pending orders older than `older_than`: a saga that stopped half way."""
    return OrderStore(session).pending_before(older_than, limit)
