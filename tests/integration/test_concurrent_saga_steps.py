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
from datetime import UTC, datetime, timedelta
from typing import Any

from shop.domain.catalog import Product
from shop.domain.errors import InsufficientStock
from shop.domain.inventory import ReservationStatus
from shop.domain.orders import Order, OrderStatus, RejectReason, price_order
from shop.persistence.database import Database
from shop.persistence.inventory_store import InventoryStore
from shop.usecases import inventory, notifications, order_claims, orders
from shop.usecases.order_claims import Claim

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


def _decided(order: Order, number: int) -> Order:
    """A copy of the order with the outcome its saga reaches: even numbers confirmed."""
    final = Order(**vars(order) | {"lines": list(order.lines)})
    if number % 2 == 0:
        final.confirm()
    else:
        final.reject(RejectReason.PAYMENT_DECLINED)
    return final


def _only_errors(answers: list[Any]) -> list[Exception]:
    return [answer for answer in answers if isinstance(answer, Exception)]


def test_one_claim_at_a_time_and_the_first_saga_holds_its_order(database):
    _stock(database, 50)
    free, placed = _held_orders(database, 2)
    with database.writing() as session:  # as a saga placing it does: held from the insert
        orders.delete(session, placed.id)
        orders.add(session, placed, Claim.new(placed.id, 60).until)

    claims = [Claim.new(free.id, 60) for _ in range(8)]
    taken = _all_at_once([_in_transaction(database, order_claims.take, c) for c in claims])
    assert not _only_errors(taken), taken
    winners = [claim for claim, order in zip(claims, taken, strict=True) if order is not None]
    assert len(winners) == 1, taken
    with database.writing() as session:
        assert order_claims.take(session, Claim.new(placed.id, 60)) is None
        assert order_claims.take(session, Claim.new(free.id, 60)) is None
        order_claims.give_back(session, claims[0] if winners[0] is not claims[0] else claims[1])
        assert order_claims.take(session, Claim.new(free.id, 60)) is None  # not its claim
        order_claims.give_back(session, winners[0])
        assert order_claims.take(session, Claim.new(free.id, 60)) is not None


def test_an_expired_claim_can_be_taken_and_is_then_due(database):
    _stock(database, 50)
    (order,) = _held_orders(database, 1)
    with database.writing() as session:
        assert order_claims.take(session, Claim.new(order.id, -1)) is not None  # expired at once
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert order_claims.due(session, pending_before=later) == [order.id]
        assert order_claims.take(session, Claim.new(order.id, 60)) is not None
        assert order_claims.due(session, pending_before=later) == []


def test_concurrent_final_writes_make_an_order_final_once(database):
    """Half the writers confirm, half reject: one wins, every writer answers its state."""
    _stock(database, 50)
    held = _held_orders(database, 6)
    calls, ids = [], []
    for order in held:
        for number in range(6):
            calls.append(_in_transaction(database, orders.save, _decided(order, number)))
            ids.append(order.id)
    answers = _all_at_once(calls)
    assert not _only_errors(answers), _only_errors(answers)
    for order in held:
        with database.reading() as session:
            stored = orders.get(session, order.id)
        assert stored.status.is_final
        told = {(a.status, a.reason) for a, i in zip(answers, ids, strict=True) if i == order.id}
        assert told == {(stored.status, stored.reason)}, told


def test_the_same_order_s_steps_at_once_settle_it_once(database):
    """Per order, all at once: three re-drives (claim, settle, final write, notify), two
    final writes without a claim (the functions stage's finalize), two stray settles and a
    stray notification, as duplicate deliveries and replicas make them."""
    start = 120
    _stock(database, start)
    held = _held_orders(database, 12)
    claims_won: Counter[str] = Counter()

    def settle(order: Order) -> Callable[[], Any]:
        step = inventory.commit if order.status is OrderStatus.CONFIRMED else inventory.release
        return _in_transaction(database, step, order.id)

    def redrive(final: Order) -> Callable[[], Any]:
        def call() -> Any:
            claim = Claim.new(final.id, 60)
            with database.writing() as session:
                if order_claims.take(session, claim) is None:
                    return None
            claims_won[final.id] += 1
            settle(final)()
            with database.writing() as session:
                stored = orders.save(session, final)
            with database.writing() as session:
                notifications.notify(session, stored)
                orders.mark_notified(session, stored)
            with database.writing() as session:
                order_claims.give_back(session, claim)
            return stored

        return call

    calls = []
    for number, order in enumerate(held):
        final = _decided(order, number)
        calls += [redrive(final)] * 3
        calls += [_in_transaction(database, orders.save, final)] * 2
        calls += [settle(final)] * 2
        calls += [_in_transaction(database, notifications.notify, final)]
    answers = _all_at_once(calls)
    assert not _only_errors(answers), _only_errors(answers)

    settled = {}
    for number, order in enumerate(held):
        outcome = _decided(order, number)
        with database.reading() as session:
            stored = orders.get(session, order.id)
            told = notifications.for_email(session, order.email)
        assert (stored.status, stored.reason) == (outcome.status, outcome.reason)
        assert claims_won[order.id] == 1, claims_won
        assert [n.message.order_id for n in told] == [order.id]
        assert told[0].message.kind == f"order_{outcome.status}"
        status = _reservation_status(database, order.id)
        expected = {
            OrderStatus.CONFIRMED: ReservationStatus.COMMITTED,
            OrderStatus.REJECTED: ReservationStatus.RELEASED,
        }[outcome.status]
        assert status is expected, (order.id, status)
        settled[order.id] = (order, status)
    assert _levels(database) == _expected_levels(start, settled)


def test_concurrent_reserves_of_one_order_for_untracked_stock_answer_one_rejection(database):
    """No stock row to lock (no sku kept): the reservation's key must answer "already done"."""
    order_id = price_order("fay@example.com", "tok_visa", [("CS-0001", 1)], _products()).id
    step = _in_transaction(database, inventory.reserve, order_id, {"CS-9999": 1})
    answers = _all_at_once([step] * 8)
    assert not _only_errors(answers), _only_errors(answers)
    assert {a.status for a in answers} == {ReservationStatus.REJECTED}
    assert _reservation_status(database, order_id) is ReservationStatus.REJECTED
