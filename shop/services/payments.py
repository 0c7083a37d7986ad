"""Payment use cases. The order id is the idempotency key of a charge."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shop.domain.orders import Order
from shop.domain.payments import Charge, SimulatedProvider
from shop.persistence.payments_store import PaymentStore


def charge(session: Session, provider: SimulatedProvider, order: Order) -> Charge:
    """Ask the provider once per order; asked again, answers the recorded charge."""
    store = PaymentStore(session)
    existing = store.for_order(order.id)
    if existing is not None:
        return existing
    decision = provider.decide(order.payment_token, order.total_cents)
    record = Charge(
        id="pay_" + secrets.token_urlsafe(12),
        order_id=order.id,
        amount_cents=order.total_cents,
        currency=order.currency,
        status=decision.status,
        reason=decision.reason,
        created_at=datetime.now(UTC),
    )
    store.add(record)
    return record


def charges_for_order(session: Session, order_id: str) -> list[Charge]:
    found = PaymentStore(session).for_order(order_id)
    return [found] if found else []
