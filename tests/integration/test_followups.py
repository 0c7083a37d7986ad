"""What a final order still owes: recorded, acknowledged, and claimed by one re-drive only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shop.domain.orders import Order, OrderLine, new_order_id
from shop.usecases import followups, orders
from tests.integration.replicas import in_two_replicas


def _final_order(database) -> Order:
    order = Order(new_order_id(), "ada@example.com", "tok_visa", "EUR", [OrderLine("S", 1, 5)])
    order.confirm()
    with database.writing() as session:
        orders.add(session, order)
    return order


def test_steps_are_owed_until_acknowledged(database):
    order = _final_order(database)
    with database.writing() as session:
        followups.expect(session, order, datetime.now(UTC))
    with database.writing() as session:
        assert followups.owed(session, order.id) == {"stock", "customer"}
        assert followups.acknowledge(session, order.id, "stock") is True
        assert followups.acknowledge(session, order.id, "stock") is False  # a repeat
    with database.reading() as session:
        assert followups.owed(session, order.id) == {"customer"}


def test_an_overdue_order_is_claimed_once_and_waits_again(database):
    order, fresh = _final_order(database), _final_order(database)
    now = datetime.now(UTC)
    with database.writing() as session:
        followups.expect(session, order, now - timedelta(minutes=5))
        followups.expect(session, fresh, now)
    before = now - timedelta(seconds=30)
    with database.writing() as session:
        assert [o.id for o in followups.claim_overdue(session, before, now)] == [order.id]
    with database.writing() as session:
        assert followups.claim_overdue(session, before, now) == []  # its wait restarted
    later = now + timedelta(minutes=1)
    with database.writing() as session:
        claimed = followups.claim_overdue(session, later - timedelta(seconds=30), later)
    assert sorted(o.id for o in claimed) == sorted([order.id, fresh.id])


def test_two_concurrent_redrives_claim_an_order_once(database_url, database):
    order = _final_order(database)
    now = datetime.now(UTC)
    with database.writing() as session:
        followups.expect(session, order, now - timedelta(minutes=5))

    def redrive(session) -> list[Order]:
        return followups.claim_overdue(session, now - timedelta(seconds=30), now)

    claims = in_two_replicas(database_url, redrive)
    assert sorted(len(c) for c in claims) == [0, 1], claims
