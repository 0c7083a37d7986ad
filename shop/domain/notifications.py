"""Messages to customers when an order becomes final (recorded, not mailed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shop.domain.money import format_cents
from shop.domain.orders import Order, OrderStatus

NOTIFICATION_ID_PATTERN = r"^msg_[A-Za-z0-9_-]{16}$"  # "msg_" + 96 random bits, url-safe

_REASONS = {
    "out_of_stock": "some items are out of stock",
    "payment_declined": "your payment was declined",
    "payment_failed": "the payment could not be processed",
}


class NotificationKind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    ORDER_REJECTED = "order_rejected"


@dataclass(frozen=True)
class Message:
    email: str
    order_id: str
    kind: NotificationKind
    subject: str
    body: str


@dataclass(frozen=True)
class Notification:
    """A message as recorded: one per order and kind."""

    id: str
    message: Message
    created_at: datetime


def message_for(order: Order) -> Message:
    """The one message an order gets when it becomes final."""
    if order.status is OrderStatus.CONFIRMED:
        return Message(
            order.email,
            order.id,
            NotificationKind.ORDER_CONFIRMED,
            f"Order {order.id} confirmed",
            f"Thank you! We received {format_cents(order.total_cents, order.currency)} "
            f"for {sum(line.quantity for line in order.lines)} item(s).",
        )
    if order.status is OrderStatus.REJECTED:
        why = _REASONS.get(order.reason or "", order.reason or "unknown reason")
        return Message(
            order.email,
            order.id,
            NotificationKind.ORDER_REJECTED,
            f"Order {order.id} could not be completed",
            f"We are sorry: {why}. You have not been charged.",
        )
    raise ValueError(f"order {order.id} is still pending: nothing to notify")
