"""The message an order gets when it becomes final."""

from datetime import UTC, datetime

import pytest

from shop.domain.notifications import Message, NotificationKind, message_for
from shop.domain.orders import Order, OrderLine, OrderStatus, RejectReason

ORDER_ID = "ord_AbCdEfGhIjKlMnOpQrStUv"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def order(lines=None, currency="EUR", email="ada@example.com"):
    return Order(
        id=ORDER_ID,
        email=email,
        payment_token="tok_visa",
        currency=currency,
        lines=lines or [OrderLine("MUG-001", 2, 1299), OrderLine("TEE-002", 1, 1999)],
        created_at=T0,
        updated_at=T0,
    )


def test_confirmed_order_message():
    o = order()
    o.confirm()
    message = message_for(o)
    assert message == Message(
        email="ada@example.com",
        order_id=ORDER_ID,
        kind=NotificationKind.ORDER_CONFIRMED,
        subject=f"Order {ORDER_ID} confirmed",
        body="Thank you! We received EUR 45.97 for 3 item(s).",
    )


@pytest.mark.parametrize(
    ("lines", "currency", "amount", "items"),
    [
        ([OrderLine("MUG-001", 1, 1)], "USD", "USD 0.01", 1),
        ([OrderLine("MUG-001", 1, 100)], "GBP", "GBP 1.00", 1),
        ([OrderLine("MUG-001", 100, 100_000_000)], "CHF", "CHF 100000000.00", 100),
        ([OrderLine("A-1", 3, 5), OrderLine("B-2", 4, 25)], "EUR", "EUR 1.15", 7),
    ],
)
def test_confirmed_body_has_formatted_total_and_item_count(lines, currency, amount, items):
    o = order(lines=lines, currency=currency)
    o.confirm()
    message = message_for(o)
    assert ORDER_ID in message.subject
    assert message.body == f"Thank you! We received {amount} for {items} item(s)."


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        (RejectReason.OUT_OF_STOCK, "some items are out of stock"),
        (RejectReason.PAYMENT_DECLINED, "your payment was declined"),
        (RejectReason.PAYMENT_FAILED, "the payment could not be processed"),
        ("out_of_stock", "some items are out of stock"),
        ("fraud suspected", "fraud suspected"),
    ],
)
def test_rejected_order_message(reason, why):
    o = order(email="bob@example.org")
    o.reject(reason)
    message = message_for(o)
    assert message.email == "bob@example.org"
    assert message.order_id == ORDER_ID
    assert message.kind is NotificationKind.ORDER_REJECTED
    assert message.subject == f"Order {ORDER_ID} could not be completed"
    assert message.body == f"We are sorry: {why}. You have not been charged."
    assert "EUR" not in message.body


@pytest.mark.parametrize("reason", [None, ""])
def test_rejected_without_reason_says_unknown(reason):
    o = order()
    o.status = OrderStatus.REJECTED
    o.reason = reason
    message = message_for(o)
    assert message.body == "We are sorry: unknown reason. You have not been charged."


def test_pending_order_has_nothing_to_notify():
    with pytest.raises(ValueError, match=f"order {ORDER_ID} is still pending"):
        message_for(order())


def test_message_is_frozen():
    o = order()
    o.confirm()
    with pytest.raises(AttributeError):
        message_for(o).body = "changed"  # type: ignore[misc]


def test_notification_kind_values():
    assert NotificationKind.ORDER_CONFIRMED == "order_confirmed"
    assert NotificationKind.ORDER_REJECTED == "order_rejected"
