"""Notification use cases: one message per order and outcome, recorded once."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from shop.domain.notifications import Notification, message_for
from shop.domain.orders import Order
from shop.persistence.notifications_store import NotificationStore


def notify(session: Connection, order: Order) -> Notification:
    """Record the message for a final order; a second call returns the first message."""
    return notify_once(session, order)[0]


def notify_once(session: Connection, order: Order) -> tuple[Notification, bool]:
    """`notify`, and whether this call recorded the message (False: an earlier call did)."""
    message = message_for(order)
    store = NotificationStore(session)
    existing = store.find(order.id, message.kind)
    if existing is not None:
        return existing, False
    notification = Notification("msg_" + secrets.token_urlsafe(12), message, datetime.now(UTC))
    try:
        with session.begin_nested():
            store.add(notification)
    except IntegrityError:  # a concurrent call for the same order and outcome recorded it first
        found = store.find(order.id, message.kind)
        assert found is not None
        return found, False
    return notification, True


def for_email(session: Connection, email: str) -> list[Notification]:
    return NotificationStore(session).by_email(email)
