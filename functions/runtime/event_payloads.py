"""The data each saga event carries, made in one place for every function.

The events themselves (types, ids, the CloudEvent around this data, publishing)
are functions/runtime/saga_events.py.
"""

from __future__ import annotations

from typing import Any

from cloudevents.core.base import BaseCloudEvent

from functions.runtime import saga_events
from shop.domain.orders import Order


def placed_event(order: Order, function: str) -> BaseCloudEvent:
    """shop.order.placed: all that reserving and charging need, so no step calls back."""
    return saga_events.new_event(
        saga_events.ORDER_PLACED,
        order.id,
        {
            "order_id": order.id,
            "lines": order.quantities,
            "amount_cents": order.total_cents,
            "currency": order.currency,
            "payment_token": order.payment_token,
        },
        function,
    )


def outcome_event(order: Order, function: str) -> BaseCloudEvent:
    """shop.order.confirmed / shop.order.rejected: `order_id`, as every saga event has, and
    the order as the customer sees it (OrderOut's fields, which notify-customer reads)."""
    type_ = (
        saga_events.ORDER_CONFIRMED if order.status == "confirmed" else saga_events.ORDER_REJECTED
    )
    # Here, not at the top: only the functions that finish orders need the API's models,
    # whose import would cost every other event function's cold start.
    from shop.schemas import OrderOut

    data = {"order_id": order.id} | OrderOut.of(order).model_dump(mode="json")
    return saga_events.new_event(type_, order.id, data, function)


def order_id_of(data: dict[str, Any]) -> str:
    """The order a saga event is about. An outcome event published before outcome events
    carried `order_id` (one still in flight, or re-driven from a recorded reply) names it
    as the order's `id` only."""
    return data["order_id"] if "order_id" in data else data["id"]


def acknowledgement(type_: str, order_id: str, function: str) -> BaseCloudEvent:
    """A follow-up step's reply to the order's outcome: done (shop.stock.committed,
    shop.stock.released, shop.customer.notified)."""
    return saga_events.new_event(type_, order_id, {"order_id": order_id}, function)


def follow_up(type_: str, event: BaseCloudEvent, function: str, **data: Any) -> BaseCloudEvent:
    """The next event of the same order, carrying the received data on with `data` added."""
    carried = saga_events.data_of(event) | data
    return saga_events.new_event(type_, carried["order_id"], carried, function)
