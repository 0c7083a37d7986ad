"""finalize-order: on the stock or payment outcome, confirm or reject the order; then
record the follow-up steps as they report back.

    shop.stock.rejected     -> rejected (out_of_stock)
    shop.payment.succeeded  -> confirmed
    shop.payment.failed     -> rejected (payment_declined / payment_failed)
    shop.stock.committed, shop.stock.released, shop.customer.notified
                            -> the step is no longer owed (no reply)

The order state machine makes a repeated outcome a no-op; an order that is
already final answers its outcome again, so the saga still moves on. When the
order becomes final, the steps after it (stock settled, customer told) are
recorded as owed in the same transaction, so none can be lost unseen: the
re-drive publishes the outcome again for an order that still owes one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry import trace
from sqlalchemy import Connection

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction, after_commit
from functions.runtime.event_payloads import outcome_event
from shop.domain.orders import OrderStatus, PaymentOutcome, RejectReason
from shop.telemetry import metrics
from shop.telemetry.tracing import order_span
from shop.usecases import followups, orders

ACKNOWLEDGED_STEP = {
    saga_events.STOCK_COMMITTED: followups.STOCK,
    saga_events.STOCK_RELEASED: followups.STOCK,
    saga_events.CUSTOMER_NOTIFIED: followups.CUSTOMER,
}


class FinalizeOrder(EventFunction):
    name = "finalize-order"
    context = "orders"
    consumes = (
        saga_events.PAYMENT_SUCCEEDED,
        saga_events.PAYMENT_FAILED,
        saga_events.STOCK_REJECTED,
        *ACKNOWLEDGED_STEP,
    )

    def step_span(self, event: BaseCloudEvent) -> AbstractContextManager[Any]:
        """The outcome's span, named once the order's status is known ("confirm order",
        "reject order"); an acknowledgement is the delivery's server span alone."""
        if event.get_type() in ACKNOWLEDGED_STEP:
            return nullcontext()
        return order_span("finalize order", event.get_subject() or "")

    def process(self, session: Connection, event: BaseCloudEvent) -> BaseCloudEvent | None:
        data = saga_events.data_of(event)
        step = ACKNOWLEDGED_STEP.get(event.get_type())
        if step is not None:
            followups.acknowledge(session, data["order_id"], step)
            return None
        order = orders.get(session, data["order_id"], for_update=True)
        if not order.status.is_final:
            if event.get_type() == saga_events.STOCK_REJECTED:
                order.reject(RejectReason.OUT_OF_STOCK)
            else:
                order.settle(PaymentOutcome.of(data["status"]))
            orders.save(session, order)
            followups.expect(session, order, datetime.now(UTC))
            after_commit(partial(metrics.order_finished, order))
        confirmed = order.status == OrderStatus.CONFIRMED
        trace.get_current_span().update_name("confirm order" if confirmed else "reject order")
        return outcome_event(order, self.name)


def new() -> FinalizeOrder:
    return FinalizeOrder()
