"""The microservices' order saga, orchestrated by the orders service over HTTP.

    1. price the lines with the catalog          (down: 503, nothing written)
    2. save the order as pending
    3. reserve all lines with inventory          (down: 503, the order is deleted again)
    4. charge with payments                      (no answer in time: cancel the charge)
    5. captured: sell the stock, confirm;  else: release the stock, reject
    6. notify the customer

Every call after step 2 carries the order id as idempotency key, so the saga
can be run again from step 3 at any time with the same result: that is what
the re-driver (redrive.py) does for an order a failure left pending, until it
is final and notified. The guarantee: no order is lost, none stays pending
once its dependencies answer again, stock is never sold twice or lost, and
nothing is captured for a rejected order.

One saga at a time works on an order: the saga that places it holds a claim
from the insert (shop/usecases/order_claims.py), the re-driver takes one before
resuming it, and each gives it back when it stops. The final write is
conditional (pending -> final once); a saga that finds the order already final
goes on with that outcome and never tells the customer another.

Each step is a span of the order's trace (shop.telemetry.tracing.order_span, the
step names every stage shares), carrying the order id; the calls to the peers are
client spans inside it, so the peers' spans hang under the step that asked. The
saga runs in the request's thread (FastAPI copies the context into it), so its
spans and log lines are the request's; the re-driver opens its own trace.
"""

from __future__ import annotations

import logging

from microservices.common.upstream import NoAnswer, NotSent, UpstreamError, unavailable
from microservices.orders.peers import Peers
from shop.domain.orders import Order, OrderStatus, PaymentOutcome, RejectReason, price_order
from shop.persistence.database import Database
from shop.problems import Problem
from shop.schemas import OrderIn
from shop.telemetry import metrics
from shop.telemetry.tracing import ORDER_ID, mark_order, order_span, tracer
from shop.usecases import idempotency, order_claims, orders
from shop.usecases.idempotency import RequestKey
from shop.usecases.order_claims import Claim

log = logging.getLogger("orders.saga")


def place(
    database: Database,
    peers: Peers,
    request: OrderIn,
    lease: float,
    key: RequestKey | None = None,
) -> Order:
    """Steps 1-6 for a new order; answers the order, final unless a failure left it pending.

    The saga holds the order (a claim of `lease` seconds) from its insert until it stops.
    An Idempotency-Key is written with the pending order, before any call that changes
    state, and deleted with it if inventory never saw the order.
    """
    requested = request.requested()
    with tracer().start_as_current_span("price lines") as span:  # the id is made here
        try:
            products = peers.products([sku for sku, _ in requested])
        except UpstreamError as error:
            raise unavailable(error) from None
        order = price_order(request.email, request.payment_token, requested, products)
        span.set_attribute(ORDER_ID, order.id)
    mark_order(order.id)  # the request's own span: POST /api/orders placed this order
    claim = Claim.new(order.id, lease)
    with database.writing() as session:
        orders.add(session, order, claim.until)
        idempotency.remember(session, key, order.id)
    log.info("order %s placed", order.id)
    outcome = order
    try:
        outcome = _first_run(database, peers, order, key)
    finally:
        give_back(database, claim, outcome)
    metrics.ORDERS_PLACED.inc()  # not when inventory never saw it (deleted, 503 above)
    return outcome


def _first_run(database: Database, peers: Peers, order: Order, key: RequestKey | None) -> Order:
    try:
        reservation = _reserve(peers, order)
    except NotSent as error:
        with database.writing() as session:
            orders.delete(session, order.id)  # inventory never saw it: as if never placed
            idempotency.forget(session, key, order.id)
        raise unavailable(error) from None
    except NoAnswer as error:
        log.warning("order %s stays pending: %s", order.id, error)
        return order
    return advance(database, peers, order, reservation, first_attempt=True)


def give_back(database: Database, claim: Claim, order: Order) -> None:
    """The saga stops: free the order for the re-driver if work is left (a notified
    order's claim ended with its notification)."""
    if not order.notified:
        with database.writing() as session:
            order_claims.give_back(session, claim)


def resume(database: Database, peers: Peers, order: Order) -> Order:
    """Steps 3-6 again for an order left pending (the re-driver calls this, holding it)."""
    try:
        reservation = _reserve(peers, order)
    except UpstreamError as error:
        log.warning("order %s still pending: %s", order.id, error)
        return order
    return advance(database, peers, order, reservation)


def _reserve(peers: Peers, order: Order) -> str:
    with order_span("reserve stock", order.id) as span:
        reservation = peers.reserve(order)
        span.set_attribute("shop.reservation.status", reservation)
        return reservation


def advance(
    database: Database, peers: Peers, order: Order, reservation: str, first_attempt: bool = False
) -> Order:
    """Steps 4-6, from a known reservation to a final, notified order."""
    try:
        if reservation == "rejected":
            order.reject(RejectReason.OUT_OF_STOCK)
        else:
            with order_span("charge payment", order.id) as span:
                outcome = _payment_outcome(peers, order, first_attempt)
                span.set_attribute("shop.payment.outcome", str(outcome))
            if outcome is PaymentOutcome.CAPTURED:
                with order_span("commit stock", order.id):
                    peers.commit(order.id)
            else:
                with order_span("release stock", order.id):
                    peers.release(order.id)
            order.settle(outcome)
    except UpstreamError as error:
        log.warning("order %s stays pending: %s", order.id, error)
        return order
    except Problem as problem:  # a peer refused a step: a broken invariant, for a person to see
        log.error("order %s stays pending, %s refused: %s", order.id, problem.type.slug, problem)
        return order
    step = "confirm order" if order.status is OrderStatus.CONFIRMED else "reject order"
    with order_span(step, order.id):
        with database.writing() as session:
            stored = orders.save(session, order)
        if stored is order:  # this saga made it final (orders.save): counted once
            metrics.order_finished(stored)
            outcome = f"{order.status} ({order.reason})" if order.reason else order.status
            log.info("order %s %s", order.id, outcome)
    if stored.status is not order.status or stored.reason != order.reason:
        # Only when a claim outlived its lease: two sagas ran, the other one finished first.
        log.error(
            "order %s was made %s (%s) by another saga, not %s (%s): keeping that",
            order.id, stored.status, stored.reason, order.status, order.reason,
        )  # fmt: skip
    notify(database, peers, stored)
    return stored


def _payment_outcome(peers: Peers, order: Order, first_attempt: bool) -> PaymentOutcome:
    """captured, declined or failed: never a charge whose outcome is unknown.

    Only on the saga's first attempt does a refused connection prove that payments
    never saw a charge for the order; when resuming, an earlier attempt may have
    reached it, so the charge is cancelled (which needs payments to answer).
    """
    try:
        status = peers.charge(order)
    except NotSent as error:
        if first_attempt:
            log.warning("order %s: %s, nothing was charged", order.id, error)
            return PaymentOutcome.FAILED
        log.warning("order %s: charge %s, cancelling it", order.id, error.detail)
        status = "pending"
    except NoAnswer as error:
        log.warning("order %s: charge %s, cancelling it", order.id, error.detail)
        status = "pending"
    if status == "pending":
        status = peers.cancel_charge(order)  # if payments is unreachable, stays pending
    return PaymentOutcome.of(status)


def notify(database: Database, peers: Peers, order: Order) -> None:
    """Step 6; on failure the order stays un-notified and the re-driver tries again."""
    with order_span("notify customer", order.id):
        try:
            peers.notify(order)
        except UpstreamError as error:
            log.warning("order %s not notified yet: %s", order.id, error)
            return
        with database.writing() as session:
            orders.mark_notified(session, order)
