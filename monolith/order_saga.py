"""The monolith's order saga: ONE database transaction, in-process calls.

reserve all lines -> charge -> confirm (stock sold) or reject (stock
released) -> notify. Any error rolls the whole transaction back, so an order
is written with its final status or not at all: nothing is ever left pending.

Traced as every stage's saga: a "place order" span, and under it one "order
transaction" span (BEGIN to COMMIT) holding every step's span, which is how
the trace shows the whole order is one transaction. Counted after the commit,
so a rolled-back order (a lost idempotency-key race) counts nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from monolith.wiring import Wiring
from shop.domain.inventory import Reservation, ReservationStatus
from shop.domain.orders import Order, PaymentOutcome, RejectReason, new_order_id, price_order
from shop.domain.payments import Charge
from shop.schemas import OrderIn
from shop.telemetry import metrics
from shop.telemetry.tracing import order_span
from shop.usecases import catalog, idempotency, inventory, notifications, orders, payments
from shop.usecases.idempotency import RequestKey

log = logging.getLogger("monolith.orders")


@dataclass
class _Steps:
    """What the transaction did, counted once it has committed."""

    order: Order
    reservation: Reservation
    charge: Charge | None = None
    settled: Reservation | None = None  # the reservation committed or released


def place_order(wiring: Wiring, request: OrderIn, key: RequestKey | None = None) -> Order:
    requested = request.requested()
    order_id = new_order_id()
    with order_span("place order", order_id):
        with (
            order_span("order transaction", order_id, **{"db.transaction": "one"}),
            wiring.database.writing() as session,
        ):
            with order_span("price lines", order_id):
                products = catalog.products_for(session, [sku for sku, _ in requested])
                priced = price_order(
                    request.email, request.payment_token, requested, products, order_id
                )
                order = orders.add(session, priced)
                idempotency.remember(session, key, order.id)  # before any stock is held
            steps = _settle(session, wiring, order)
        _count(steps)
        because = f" ({order.reason})" if order.reason else ""
        log.info("order %s %s%s", order.id, order.status, because)
    return order


def _settle(session, wiring: Wiring, order: Order) -> _Steps:
    with order_span("reserve stock", order.id):
        steps = _Steps(order, inventory.reserve(session, order.id, order.quantities))
    if steps.reservation.status is ReservationStatus.REJECTED:
        with order_span("reject order", order.id):
            order.reject(RejectReason.OUT_OF_STOCK)
    else:
        with order_span("charge payment", order.id):
            steps.charge = charge = payments.charge(session, wiring.provider, order)
        stock_step = "commit stock" if charge.captured else "release stock"
        with order_span(stock_step, order.id):
            settle = inventory.commit if charge.captured else inventory.release
            steps.settled = settle(session, order.id)
        with order_span("confirm order" if charge.captured else "reject order", order.id):
            order.settle(PaymentOutcome.of(charge.status))
    with order_span("notify customer", order.id):
        notifications.notify(session, order)
        order.notified = True
        orders.save(session, order)
    return steps


def _count(steps: _Steps) -> None:
    metrics.ORDERS_PLACED.inc()
    held = steps.reservation.status is not ReservationStatus.REJECTED
    metrics.STOCK_RESERVATIONS.labels("reserved" if held else "rejected").inc()
    if steps.charge is not None:
        metrics.PAYMENTS.labels(str(steps.charge.status)).inc()
    if steps.settled is not None:
        metrics.STOCK_RESERVATIONS.labels(str(steps.settled.status)).inc()
    metrics.NOTIFICATIONS.inc()
    metrics.order_finished(steps.order)
