"""Payment use cases. The order id is the idempotency key of a charge.

A charge is opened as `pending` before the provider is asked, so the key is
taken before any money moves: a retried or concurrent request for the same
order finds it and never asks the provider twice. The monolith opens, asks
and records in one transaction; the services and functions do the three
steps in turn, with `cancel` for a caller that gave up waiting.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from shop.domain.orders import Order
from shop.domain.payments import (
    Charge,
    ChargeDecision,
    ChargeStatus,
    SimulatedProvider,
    cancel_charge,
    settle_charge,
)
from shop.persistence.payments_store import PaymentStore


def open_charge(
    session: Connection, order_id: str, amount_cents: int, currency: str
) -> tuple[Charge, bool]:
    """The order's charge, and whether this call opened it (pending) or found it."""
    store = PaymentStore(session)
    existing = store.for_order(order_id)
    if existing is not None:
        return existing, False
    charge = Charge(
        id="pay_" + secrets.token_urlsafe(12),
        order_id=order_id,
        amount_cents=amount_cents,
        currency=currency,
        status=ChargeStatus.PENDING,
        reason=None,
        created_at=datetime.now(UTC),
    )
    try:
        with session.begin_nested():
            store.add(charge)
    except IntegrityError:  # a concurrent request for the same order opened it first
        found = store.for_order(order_id)
        assert found is not None
        return found, False
    return charge, True


def record_decision(session: Connection, order_id: str, decision: ChargeDecision) -> Charge:
    """Apply the provider's answer, unless the charge was cancelled meanwhile."""
    return record_decision_once(session, order_id, decision)[0]


def record_decision_once(
    session: Connection, order_id: str, decision: ChargeDecision
) -> tuple[Charge, bool]:
    """`record_decision`, and whether it settled the charge (False: cancelled meanwhile)."""
    store = PaymentStore(session)
    charge = store.for_order(order_id, for_update=True)
    if charge is None:
        raise LookupError(f"no charge for order {order_id}")
    settled = settle_charge(charge, decision)
    if settled is not charge:
        store.save_status(settled)
    return settled, settled is not charge


def cancel(session: Connection, order_id: str, amount_cents: int, currency: str) -> Charge:
    """Give up on the order's charge: pending becomes failed; a final charge is answered as is.

    With no charge yet, a failed one is recorded, so a charge request that
    arrives late (after its caller timed out) finds the key taken and does nothing.
    """
    return cancel_once(session, order_id, amount_cents, currency)[0]


def cancel_once(
    session: Connection, order_id: str, amount_cents: int, currency: str
) -> tuple[Charge, bool]:
    """`cancel`, and whether this call made the charge failed (False: it was final)."""
    charge, _ = open_charge(session, order_id, amount_cents, currency)
    store = PaymentStore(session)
    charge = store.for_order(order_id, for_update=True) or charge
    cancelled = cancel_charge(charge)
    if cancelled is not charge:
        store.save_status(cancelled)
    return cancelled, cancelled is not charge


def charge(session: Connection, provider: SimulatedProvider, order: Order) -> Charge:
    """Open, ask the provider and record, in the caller's transaction (the monolith)."""
    opened, is_new = open_charge(session, order.id, order.total_cents, order.currency)
    if not is_new:
        return opened
    return record_decision(
        session, order.id, provider.decide(order.payment_token, order.total_cents)
    )


def charges_for_order(session: Connection, order_id: str) -> list[Charge]:
    found = PaymentStore(session).for_order(order_id)
    return [found] if found else []
