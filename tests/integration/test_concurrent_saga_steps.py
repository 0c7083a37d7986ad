"""The saga's steps run many times at once for the same order, on SQLite and PostgreSQL.

Every replica (and a re-driver beside a live request) may release, commit, resume or
notify the same order at the same moment. Each check here is per order: its
reservation settled exactly once, its stock moved exactly once and as its outcome
says, one claim at a time, one final status, one notification. Totals alone cannot
see a unit released twice when another order's held units cover for it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shop.domain.catalog import Product
from shop.domain.errors import InsufficientStock
from shop.domain.inventory import ReservationStatus
from shop.domain.orders import Order, price_order
from shop.persistence.database import Database
from shop.persistence.inventory_store import InventoryStore
from shop.services import inventory, notifications, orders

SKUS = ("CS-0001", "CS-0002", "CS-0003")
THREADS_PER_ORDER = 4


def _products() -> dict[str, Product]:
    return {sku: Product(sku, "Thing", "", 300, "EUR") for sku in SKUS}


def _stock(database: Database, units: int) -> None:
    with database.writing() as session:
        for sku in SKUS:
            inventory.track(session, sku)
            inventory.restock(session, sku, units)


def _held_orders(database: Database, count: int) -> list[Order]:
    """`count` pending orders, each holding units of two skus out of three (shared)."""
    made = []
    for number in range(count):
        lines = [(SKUS[number % 3], 1 + number % 2), (SKUS[(number + 1) % 3], 1)]
        order = price_order(f"c{number}@example.com", "tok_visa", lines, _products())
        with database.writing() as session:
            orders.add(session, order)
            assert inventory.reserve(session, order.id, order.quantities).status == "held"
        made.append(order)
    return made


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; answers or raised errors."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # kept, so the test can say which step failed and how
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _in_transaction(database: Database, step: Callable, *args: Any) -> Callable[[], Any]:
    def call() -> Any:
        with database.writing() as session:
            return step(session, *args)

    return call


def _levels(database: Database) -> dict[str, tuple[int, int, int]]:
    with database.reading() as session:
        found = {sku: inventory.get_stock(session, sku) for sku in SKUS}
    return {sku: (lv.available, lv.reserved, lv.sold) for sku, lv in found.items()}


def _reservation_status(database: Database, order_id: str) -> ReservationStatus:
    with database.reading() as session:
        found = InventoryStore(session).reservation(order_id)
    assert found is not None
    return found.status


def _expected_levels(start: int, settled: dict[str, tuple[Order, ReservationStatus]]):
    """Each sku's buckets if every order moved its units once, as its reservation says."""
    sold: Counter[str] = Counter()
    for order, status in settled.values():
        if status is ReservationStatus.COMMITTED:
            sold.update(order.quantities)
    return {sku: (start - sold[sku], 0, sold[sku]) for sku in SKUS}


def test_concurrent_release_and_commit_settle_each_reservation_once(database):
    """Per order: only releases, only commits, or both at once; each moves stock once."""
    start = 200
    _stock(database, start)
    held = _held_orders(database, 24)

    calls, plan = [], {}
    for number, order in enumerate(held):
        kind = ("release", "commit", "both")[number % 3]
        steps = {
            "release": [inventory.release] * THREADS_PER_ORDER,
            "commit": [inventory.commit] * THREADS_PER_ORDER,
            "both": [inventory.release, inventory.commit] * (THREADS_PER_ORDER // 2),
        }[kind]
        plan[order.id] = kind
        calls += [(order, _in_transaction(database, step, order.id)) for step in steps]
    answers = _all_at_once([call for _, call in calls])

    settled = {}
    for order in held:
        status = _reservation_status(database, order.id)
        expected = {
            "release": {ReservationStatus.RELEASED},
            "commit": {ReservationStatus.COMMITTED},
            "both": {ReservationStatus.RELEASED, ReservationStatus.COMMITTED},
        }[plan[order.id]]
        assert status in expected, (plan[order.id], status)
        settled[order.id] = (order, status)
    for (order, _), answer in zip(calls, answers, strict=True):
        if isinstance(answer, Exception):
            # The one refusal allowed: selling what a concurrent release gave back first.
            assert isinstance(answer, InsufficientStock), repr(answer)
            assert "reservation is released" in str(answer), answer
            assert settled[order.id][1] is ReservationStatus.RELEASED
    assert _levels(database) == _expected_levels(start, settled)


def test_concurrent_notify_records_one_message_and_answers_it_to_all(database):
    order = price_order("dee@example.com", "tok_visa", [("CS-0001", 1)], _products())
    order.confirm()
    answers = _all_at_once([_in_transaction(database, notifications.notify, order)] * 8)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert len({a.id for a in answers}) == 1, answers
    with database.reading() as session:
        assert len(notifications.for_email(session, "dee@example.com")) == 1
