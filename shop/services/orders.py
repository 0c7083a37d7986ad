"""Order use cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shop.domain.orders import Order, is_order_id
from shop.persistence.orders_store import OrderStore
from shop.services.errors import NotFound


def add(session: Session, order: Order) -> Order:
    OrderStore(session).add(order)
    return order


def get(session: Session, order_id: str, for_update: bool = False) -> Order:
    order = OrderStore(session).get(order_id, for_update) if is_order_id(order_id) else None
    if order is None:
        raise NotFound(f"no order with id {order_id}")
    return order


def save(session: Session, order: Order) -> Order:
    OrderStore(session).save_status(order)
    return order


def by_email(session: Session, email: str) -> list[Order]:
    return OrderStore(session).by_email(email)


def delete(session: Session, order_id: str) -> None:
    """Undo an order nothing else has seen yet (its first step could not even be sent)."""
    OrderStore(session).delete(order_id)


def stuck(session: Session, older_than: datetime, limit: int = 100) -> list[Order]:
    """Pending orders older than `older_than`: a saga that stopped half way."""
    return OrderStore(session).pending_before(older_than, limit)


def unnotified(session: Session, limit: int = 100) -> list[Order]:
    """Final orders whose customer has not been told yet."""
    return OrderStore(session).final_unnotified(limit)
