"""Stuck pending orders claimed by the functions' re-drive: once per lease, by one replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shop.domain.orders import Order, OrderLine, new_order_id
from shop.usecases import order_claims, orders
from tests.integration.replicas import in_two_replicas

THRESHOLD = timedelta(seconds=30)  # pending longer than this: stuck; also the lease


def _pending(database, age: timedelta) -> Order:
    moment = datetime.now(UTC) - age
    order = Order(
        new_order_id(),
        "ada@example.com",
        "tok_visa",
        "EUR",
        [OrderLine("S", 1, 5)],
        created_at=moment,
        updated_at=moment,
    )
    with database.writing() as session:
        orders.add(session, order)
    return order


def _round(database, now: datetime) -> list[str]:
    """One re-drive round at `now`: the ids it claims, to publish."""
    with database.writing() as session:
        claimed = order_claims.claim_stuck(session, now - THRESHOLD, now + THRESHOLD, now)
    return [order.id for order in claimed]


def test_a_stuck_order_is_claimed_once_per_lease_and_again_when_it_ends(database):
    now = datetime.now(UTC)
    stuck = _pending(database, timedelta(minutes=5))
    young = _pending(database, timedelta(0))
    assert _round(database, now) == [stuck.id]
    # The next pings (5 s apart locally) find it still pending but held: not again.
    assert _round(database, now + timedelta(seconds=5)) == []
    assert _round(database, now + THRESHOLD - timedelta(seconds=1)) == []
    # The lease ended with the order still pending: due again, and so is the young
    # order, pending longer than the threshold by then.
    later = now + THRESHOLD + timedelta(seconds=1)
    assert _round(database, later) == [stuck.id, young.id]
    assert _round(database, later + timedelta(seconds=5)) == []


def test_a_final_order_is_not_claimed(database):
    order = _pending(database, timedelta(minutes=5))
    order.confirm()
    with database.writing() as session:
        orders.save(session, order)
    assert _round(database, datetime.now(UTC)) == []


def test_two_concurrent_redrives_claim_a_stuck_order_once(database_url, database):
    stuck = _pending(database, timedelta(minutes=5))
    now = datetime.now(UTC)

    def redrive(session) -> list[str]:
        claimed = order_claims.claim_stuck(session, now - THRESHOLD, now + THRESHOLD, now)
        return [order.id for order in claimed]

    assert sorted(in_two_replicas(database_url, redrive)) == [[], [stuck.id]]
