"""The microservices' re-driver on a real database, with fake peers: what one round touches."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from microservices.orders.redrive import Redriver
from shop.domain.catalog import Product
from shop.domain.orders import Order, price_order
from shop.persistence.tables import order_rows
from shop.usecases import orders
from shop.usecases.order_claims import Claim


class FakePeers:
    """Answers the saga's calls at once; reserving `broken` raises a bug, not an HTTP error."""

    def __init__(self, broken: str) -> None:
        self.broken = broken
        self.told: list[str] = []

    def reserve(self, order: Order) -> str:
        if order.id == self.broken:
            raise RuntimeError("a bug in one order's data")
        return "held"

    def charge(self, order: Order) -> str:
        return "captured"

    def commit(self, order_id: str) -> None:
        pass

    def notify(self, order: Order) -> None:
        self.told.append(order.id)


def _pending(database, minutes_old: int, claimed_until: datetime | None = None) -> Order:
    product = Product("RD-0001", "Thing", "", 100, "EUR")
    order = price_order("eve@example.com", "tok_visa", [("RD-0001", 1)], {"RD-0001": product})
    order.created_at = datetime.now(UTC) - timedelta(minutes=minutes_old)
    with database.writing() as session:
        orders.add(session, order, claimed_until)
    return order


def test_one_failing_order_is_logged_and_the_round_goes_on(database, caplog):
    broken = _pending(database, minutes_old=3)  # the oldest: taken first
    good = _pending(database, minutes_old=2)
    held = _pending(database, minutes_old=1, claimed_until=Claim.new("-", 60).until)
    peers = FakePeers(broken.id)
    redriver = Redriver(database, peers, interval=60, after=5, lease=60)

    with caplog.at_level(logging.ERROR, logger="orders.redrive"):
        assert redriver.run_once() == 1
        assert f"re-driving order {broken.id} failed" in caplog.text
        assert peers.told == [good.id]
        with database.reading() as session:
            found = {o.id: o for o in orders.by_email(session, "eve@example.com")}
            rows = session.execute(select(order_rows.c.id, order_rows.c.claimed_until)).all()
            claimed = {row.id: row.claimed_until for row in rows}
        assert (found[good.id].status, found[good.id].notified) == ("confirmed", True)
        assert found[broken.id].status == found[held.id].status == "pending"
        assert claimed[broken.id] is None  # given back: the next round tries it again
        assert claimed[held.id] is not None  # its own saga holds it: left alone

        assert redriver.run_once() == 0
        assert caplog.text.count(f"re-driving order {broken.id} failed") == 2
