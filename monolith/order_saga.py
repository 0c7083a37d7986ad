"""The monolith's order saga: ONE database transaction, in-process calls.

reserve all lines -> charge -> confirm (stock sold) or reject (stock
released) -> notify. Any error rolls the whole transaction back, so an order
is written with its final status or not at all: nothing is ever left pending.
"""

from __future__ import annotations

from monolith.wiring import Wiring
from shop.domain.inventory import ReservationStatus
from shop.domain.orders import Order, PaymentOutcome, RejectReason, price_order
from shop.schemas import OrderIn
from shop.usecases import catalog, idempotency, inventory, notifications, orders, payments
from shop.usecases.idempotency import RequestKey


def place_order(wiring: Wiring, request: OrderIn, key: RequestKey | None = None) -> Order:
    requested = request.requested()
    with wiring.database.writing() as session:
        products = catalog.products_for(session, [sku for sku, _ in requested])
        order = orders.add(
            session, price_order(request.email, request.payment_token, requested, products)
        )
        idempotency.remember(session, key, order.id)  # before any stock is held

        reservation = inventory.reserve(session, order.id, order.quantities)
        if reservation.status is ReservationStatus.REJECTED:
            order.reject(RejectReason.OUT_OF_STOCK)
        else:
            charge = payments.charge(session, wiring.provider, order)
            order.settle(PaymentOutcome.of(charge.status))
            if charge.captured:
                inventory.commit(session, order.id)
            else:
                inventory.release(session, order.id)

        notifications.notify(session, order)
        order.notified = True
        orders.save(session, order)
    return order
