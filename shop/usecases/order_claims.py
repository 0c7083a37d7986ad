"""One saga at a time per order: claims with a lease, taken without a long transaction.

The orders table keeps, per order, until when a saga holds it (`claimed_until`). The
saga that places an order holds it from the insert; a re-driver (any replica) takes
an order only when nobody holds it, with one conditional UPDATE, and gives it back
when done. The lease outlives the saga's longest possible run, so a holder that
crashed frees its orders when the lease ends. No transaction stays open while the
holder calls other services: taking and giving back are short transactions of their own.

The functions' re-drive (functions/redrive_orders) holds no saga: it publishes the
order's first event again and the broker carries the saga on. It claims each stuck
order for a lease it never gives back (`claim_stuck`), so the order is published
again at most once per lease, whichever replica or round finds it; if the order is
still pending when the lease ends, it is stuck again and the next round takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from shop.domain.orders import Order
from shop.persistence.order_claims_store import OrderClaimStore
from shop.usecases import orders


@dataclass(frozen=True)
class Claim:
    """A lease on one order. Its exact end is also its token: giving back a claim
    that expired and was taken by another saga leaves that saga's claim alone."""

    order_id: str
    until: datetime

    @classmethod
    def new(cls, order_id: str, lease_seconds: float) -> Claim:
        return cls(order_id, datetime.now(UTC) + timedelta(seconds=lease_seconds))


def take(session: Connection, claim: Claim) -> Order | None:
    """The order, now held by `claim`; None if another saga holds it or nothing is left to do."""
    if not OrderClaimStore(session).take(claim.order_id, claim.until, datetime.now(UTC)):
        return None
    return orders.get(session, claim.order_id)


def give_back(session: Connection, claim: Claim) -> None:
    OrderClaimStore(session).give_back(claim.order_id, claim.until)


def due(session: Connection, pending_before: datetime, limit: int = 100) -> list[str]:
    """Ids of orders nobody holds with work left: pending since before `pending_before`
    (a saga stopped half way), or final and the customer not told yet."""
    return OrderClaimStore(session).due(pending_before, datetime.now(UTC), limit)


def claim_stuck(
    session: Connection, pending_before: datetime, until: datetime, now: datetime, limit: int = 100
) -> list[Order]:
    """Orders pending since before `pending_before` that nobody holds at `now`, each now
    held until `until`; oldest first. Each is taken by a conditional UPDATE, so two
    re-drives that read the same order take it once."""
    store = OrderClaimStore(session)
    taken = [
        order_id
        for order_id in store.stuck(pending_before, now, limit)
        if store.take_stuck(order_id, pending_before, until, now)
    ]
    return [orders.get(session, order_id) for order_id in taken]
