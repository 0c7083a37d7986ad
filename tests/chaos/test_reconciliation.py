"""The reconciliation's checks against hand-built databases: each must fail where it should.

A small consistent shop is written row by row into real databases (SQLite files, laid out
as the monolith keeps them, in one database, and as the split stages do, one per context),
read back with the same reader a chaos run uses, and reconciled: every check passes. Then
one promise at a time is broken in the rows (an order sold twice, a capture for a rejected
order, a missing or doubled notification, a pending order, ...) and exactly the check that
guards it must fail, naming the order or sku.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, update

from loadtests.chaos.ledger import Ledger, context_urls, read_ledger
from loadtests.chaos.reconcile import outstanding, reconcile
from shop.persistence.database import Database
from shop.persistence.tables import (
    METADATA,
    charges,
    messages,
    order_lines,
    order_rows,
    reservations,
    stock_levels,
)

LAYOUTS = {
    "one database (monolith)": ("monolith",),
    "one per context (microservices, functions)": tuple(METADATA),
}
PRICE = 1000  # cents per unit of every sku here
INITIAL = {"TF-0001": 10, "TF-0002": 5}


class Shop:
    """Databases laid out as a stage keeps them, written row by row."""

    def __init__(self, folder: Path, names: tuple[str, ...]) -> None:
        urls = {name: f"sqlite:///{folder / name}.sqlite" for name in names}
        self.urls = context_urls(names, urls)
        self.databases = {url: Database(url) for url in set(self.urls.values())}
        for context, url in self.urls.items():
            METADATA[context].create_all(self.databases[url].engine)
        self.now = datetime.now(UTC)

    def execute(self, context: str, *statements) -> None:
        with self.databases[self.urls[context]].writing() as session:
            for statement in statements:
                session.execute(statement)

    def stock(self, sku: str, available: int, reserved: int = 0, sold: int = 0) -> None:
        self.execute(
            "inventory",
            delete(stock_levels).where(stock_levels.c.sku == sku),
            insert(stock_levels).values(sku=sku, available=available, reserved=reserved, sold=sold),
        )

    def order(self, order_id: str, status: str, lines: dict[str, int], **fields) -> None:
        created = fields.pop("created_at", self.now - timedelta(seconds=5))
        self.execute(
            "orders",
            insert(order_rows).values(
                id=order_id,
                email="ada@example.com",
                payment_token="tok_visa",
                currency="EUR",
                total_cents=PRICE * sum(lines.values()),
                status=status,
                reason=fields.pop("reason", None),
                created_at=created,
                updated_at=created,
                notified=status != "pending",
            ),
            *[
                insert(order_lines).values(
                    order_id=order_id, sku=sku, quantity=n, unit_price_cents=PRICE
                )
                for sku, n in lines.items()
            ],
        )

    def reservation(self, order_id: str, lines: dict[str, int], status: str) -> None:
        self.execute(
            "inventory",
            *[
                insert(reservations).values(
                    order_id=order_id, sku=sku, quantity=n, status=status, created_at=self.now
                )
                for sku, n in lines.items()
            ],
        )

    def set_reservation(self, order_id: str, status: str) -> None:
        self.execute(
            "inventory",
            update(reservations).where(reservations.c.order_id == order_id).values(status=status),
        )

    def charge(self, order_id: str, status: str, amount: int) -> None:
        self.execute(
            "payments",
            delete(charges).where(charges.c.order_id == order_id),
            insert(charges).values(
                id=f"ch_{order_id}",
                order_id=order_id,
                amount_cents=amount,
                currency="EUR",
                status=status,
                created_at=self.now,
            ),
        )

    def message(self, order_id: str, kind: str) -> None:
        self.execute(
            "notifications",
            insert(messages).values(
                id=f"msg_{order_id}_{kind}",
                email="ada@example.com",
                order_id=order_id,
                kind=kind,
                subject="s",
                body="b",
                created_at=self.now,
            ),
        )

    def unmessage(self, order_id: str) -> None:
        self.execute("notifications", delete(messages).where(messages.c.order_id == order_id))

    def ledger(self) -> Ledger:
        return read_ledger(self.urls)

    def failed(self) -> set[str]:
        found = reconcile("test", "hand-built", self.ledger(), INITIAL)
        return {check.key for check in found.failed()}

    def problems(self, key: str) -> list[str]:
        found = reconcile("test", "hand-built", self.ledger(), INITIAL)
        return next(check.problems for check in found.checks if check.key == key)

    def close(self) -> None:
        for database in self.databases.values():
            database.dispose()


@pytest.fixture(params=list(LAYOUTS))
def shop(request, tmp_path) -> Iterator[Shop]:
    """A consistent shop after four orders: one confirmed (2 units of TF-0001), one declined
    (its unit released), one out of stock (never held), one whose payment failed."""
    built = Shop(tmp_path, LAYOUTS[request.param])
    built.stock("TF-0001", available=8, sold=2)
    built.stock("TF-0002", available=5)

    built.order("ord_confirmed", "confirmed", {"TF-0001": 2})
    built.reservation("ord_confirmed", {"TF-0001": 2}, "committed")
    built.charge("ord_confirmed", "captured", 2 * PRICE)
    built.message("ord_confirmed", "order_confirmed")

    built.order("ord_declined", "rejected", {"TF-0001": 1}, reason="payment_declined")
    built.reservation("ord_declined", {"TF-0001": 1}, "released")
    built.charge("ord_declined", "declined", PRICE)
    built.message("ord_declined", "order_rejected")

    built.order("ord_short", "rejected", {"TF-0002": 9}, reason="out_of_stock")
    built.reservation("ord_short", {"TF-0002": 9}, "rejected")
    built.message("ord_short", "order_rejected")

    built.order("ord_failed", "rejected", {"TF-0002": 1}, reason="payment_failed")
    built.reservation("ord_failed", {"TF-0002": 1}, "released")
    built.charge("ord_failed", "failed", PRICE)
    built.message("ord_failed", "order_rejected")
    yield built
    built.close()


def test_a_consistent_shop_passes_every_check(shop: Shop):
    found = reconcile("test", "hand-built", shop.ledger(), INITIAL)
    assert found.passed, found.text()
    assert outstanding(shop.ledger()) == {
        "pending orders": 0,
        "held for final orders": 0,
        "final orders not told": 0,
    }
    text = found.text()
    assert "4 orders: 1 confirmed, 3 rejected" in text
    assert "captured 20.00, confirmed totals 20.00" in text
    assert text.rstrip().endswith("RESULT: PASS, every check held")


def test_a_doubly_sold_order_fails_the_stock_per_sku_check(shop: Shop):
    # The confirmed order's 2 units were moved from reserved to sold twice (settled twice):
    # its reservation says committed once, the stock level says 4 sold.
    shop.stock("TF-0001", available=6, sold=4)
    assert shop.failed() == {"stock_per_sku"}
    assert shop.problems("stock_per_sku") == [
        "TF-0001: 4 sold, but confirmed orders hold 2 (ord_confirmed x2)"
    ]


def test_units_made_up_or_lost_fail_the_stock_per_sku_check(shop: Shop):
    shop.stock("TF-0002", available=4)  # one unit vanished
    assert shop.failed() == {"stock_per_sku"}
    [problem] = shop.problems("stock_per_sku")
    assert problem.startswith("TF-0002: available 4 + reserved 0 + sold 0 = 4, but 5 initial")


def test_a_release_settled_twice_fails_the_stock_checks(shop: Shop):
    # A pending order holds one unit; a second release of the declined order gave that
    # unit back to the shelf: the level no longer matches the reservations still held.
    shop.order("ord_waiting", "pending", {"TF-0001": 1})
    shop.reservation("ord_waiting", {"TF-0001": 1}, "held")
    shop.stock("TF-0001", available=8, reserved=0, sold=2)
    assert "stock_per_sku" in shop.failed()
    assert shop.problems("stock_per_sku") == [
        "TF-0001: 0 reserved, but reservations still held hold 1"
    ]


def test_a_capture_for_a_rejected_order_fails_the_payments_check(shop: Shop):
    shop.charge("ord_failed", "captured", PRICE)
    assert shop.failed() == {"payments"}
    assert shop.problems("payments") == [
        "ord_failed rejected (payment_failed), yet 10.00 captured (ch_ord_failed)"
    ]


def test_a_confirmed_order_without_its_capture_fails_the_payments_check(shop: Shop):
    shop.charge("ord_confirmed", "failed", 2 * PRICE)
    assert shop.failed() == {"payments"}
    assert shop.problems("payments") == [
        "ord_confirmed confirmed with 0 captured charges (wanted 1)"
    ]


def test_a_capture_of_the_wrong_amount_fails_the_payments_check(shop: Shop):
    shop.charge("ord_confirmed", "captured", PRICE)
    assert shop.failed() == {"payments"}
    assert "but 10.00 captured" in shop.problems("payments")[0]


def test_a_missing_notification_fails_the_notifications_check(shop: Shop):
    shop.unmessage("ord_declined")
    assert shop.failed() == {"notifications"}
    assert shop.problems("notifications") == ["ord_declined rejected: no message"]
    assert outstanding(shop.ledger())["final orders not told"] == 1


def test_a_doubled_or_wrong_notification_fails_the_notifications_check(shop: Shop):
    shop.message("ord_declined", "order_confirmed")  # told both outcomes
    shop.unmessage("ord_short")
    shop.message("ord_short", "order_confirmed")  # told the wrong one
    assert shop.failed() == {"notifications"}
    assert sorted(shop.problems("notifications")) == [
        "ord_declined rejected: 2 messages ['order_rejected', 'order_confirmed']",
        "ord_short rejected, but told order_confirmed",
    ]


def test_a_pending_order_fails_the_orders_final_check_with_its_age(shop: Shop):
    shop.order(
        "ord_stuck",
        "pending",
        {"TF-0002": 1},
        created_at=shop.now - timedelta(seconds=42),
    )
    shop.reservation("ord_stuck", {"TF-0002": 1}, "held")
    shop.stock("TF-0002", available=4, reserved=1)
    assert shop.failed() == {"orders_final"}
    [problem] = shop.problems("orders_final")
    assert problem.startswith("ord_stuck pending for 4") and problem.endswith("(TF-0002 x1)")
    assert outstanding(shop.ledger())["pending orders"] == 1


def test_a_reservation_held_for_a_final_order_fails_the_stock_per_order_check(shop: Shop):
    # The declined order's release was lost: its unit is still held (and counted as held).
    shop.set_reservation("ord_declined", "held")
    shop.stock("TF-0001", available=7, reserved=1, sold=2)
    assert shop.failed() == {"stock_per_order"}
    assert shop.problems("stock_per_order") == [
        "ord_declined rejected (payment_declined), but its reservation is held (TF-0001 x1)"
    ]
    assert outstanding(shop.ledger())["held for final orders"] == 1


def test_a_confirmed_order_never_sold_fails_the_stock_checks(shop: Shop):
    # The commit was lost: the order is confirmed, its units still held.
    shop.set_reservation("ord_confirmed", "held")
    shop.stock("TF-0001", available=8, reserved=2, sold=0)
    assert shop.failed() == {"stock_per_sku", "stock_per_order"}
    assert shop.problems("stock_per_order") == [
        "ord_confirmed confirmed, but its reservation is held"
    ]


def test_stock_held_or_paid_for_an_order_that_does_not_exist_fails(shop: Shop):
    shop.reservation("ord_ghost", {"TF-0002": 1}, "held")
    shop.stock("TF-0002", available=4, reserved=1)
    shop.charge("ord_ghost", "captured", PRICE)
    shop.message("ord_ghost", "order_confirmed")
    assert shop.failed() == {"stock_per_order", "payments", "notifications"}
    assert shop.problems("stock_per_order") == [
        "ord_ghost: no such order, yet its reservation is held (TF-0002 x1)"
    ]


def test_the_report_says_which_checks_failed(shop: Shop):
    shop.unmessage("ord_confirmed")
    shop.charge("ord_declined", "captured", PRICE)
    found = reconcile("test", "hand-built", shop.ledger(), INITIAL)
    assert not found.passed
    text = found.text()
    assert "FAIL  exactly one notification per final order" in text
    assert "        ord_confirmed confirmed: no message" in text
    assert text.rstrip().endswith(
        "RESULT: FAIL, 2 of 5 checks failed: captures equal confirmed totals, nothing "
        "captured if rejected, exactly one notification per final order"
    )
    assert found.as_dict()["passed"] is False
