"""Idempotency keys on a real database (SQLite and PostgreSQL): replay, expiry, races."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shop.domain.catalog import Product
from shop.domain.orders import Order, price_order
from shop.persistence.idempotency_store import KeyTaken
from shop.persistence.tables import idempotency_keys
from shop.problems import Problem
from shop.usecases import idempotency, orders
from shop.usecases.idempotency import RequestKey
from tests.contract.test_concurrency import all_at_once

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
PRODUCT = {"IK-0001": Product("IK-0001", "Thing", "", 300, "EUR")}


def new_order(email: str = "ada@example.com", quantity: int = 1) -> Order:
    return price_order(email, "tok_visa", [("IK-0001", quantity)], PRODUCT)


def place(database, key: RequestKey | None, now: datetime | None = None, **kwargs) -> Order:
    """What a stage does: insert the order and remember its key in one transaction."""
    order = new_order(**kwargs)
    with database.writing() as session:
        orders.add(session, order)
        idempotency.remember(session, key, order.id, now=now)
    return order


def earlier(database, key: RequestKey, now: datetime) -> Order | None:
    with database.reading() as session:
        return idempotency.earlier_order(session, key, now=now)


def key_count(database, before: datetime | None = None) -> int:
    query = select(func.count()).select_from(idempotency_keys)
    if before is not None:
        query = query.where(idempotency_keys.c.created_at < before)
    with database.reading() as session:
        return session.execute(query).scalar_one()


def test_a_key_answers_its_order_until_it_expires_then_is_free(database):
    key = RequestKey("k-expiry", "a" * 64, DAY)
    first = place(database, key, now=T0)
    assert earlier(database, key, T0 + DAY - timedelta(seconds=1)).id == first.id
    assert earlier(database, key, T0 + DAY + timedelta(seconds=1)) is None

    reused = RequestKey("k-expiry", "b" * 64, DAY)  # another body: fine once expired
    later = T0 + DAY + timedelta(minutes=1)
    second = place(database, reused, now=later)
    assert earlier(database, reused, later).id == second.id
    assert key_count(database) == 1


def test_the_key_with_another_body_is_refused_while_kept(database):
    place(database, RequestKey("k-body", "a" * 64, DAY), now=T0)
    with pytest.raises(Problem) as refused:
        earlier(database, RequestKey("k-body", "b" * 64, DAY), T0 + timedelta(hours=1))
    assert refused.value.type.slug == "idempotency-key-reused"


def test_expired_keys_are_deleted_by_writes_a_batch_at_a_time(database, monkeypatch):
    monkeypatch.setattr(idempotency, "PRUNE_BATCH", 3)
    for index in range(5):
        place(database, RequestKey(f"k-old-{index}", "a" * 64, DAY), now=T0)
    fresh = T0 + DAY + timedelta(hours=1)
    place(database, RequestKey("k-new-1", "a" * 64, DAY), now=fresh)
    assert key_count(database, before=T0 + DAY) == 2
    place(database, RequestKey("k-new-2", "a" * 64, DAY), now=fresh)
    assert key_count(database, before=T0 + DAY) == 0
    assert key_count(database) == 2
    place(database, None, now=fresh)  # no key, nothing written
    assert key_count(database) == 2


def test_a_second_transaction_with_the_key_waits_and_loses(database):
    key = RequestKey("k-race", "a" * 64, DAY)
    remembered, loser_started = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def winner() -> None:
        with database.writing() as session:
            orders.add(session, order := new_order())
            idempotency.remember(session, key, order.id)
            remembered.set()
            loser_started.wait(5)
            time.sleep(0.3)  # the loser is now blocked on the key (or on the write lock)
        outcome["winner"] = order.id

    def loser() -> None:
        remembered.wait(5)
        loser_started.set()
        try:
            place(database, key)
        except KeyTaken:
            outcome["loser"] = "key taken"

    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcome.get("loser") == "key taken", outcome
    assert earlier(database, key, datetime.now(UTC)).id == outcome["winner"]
    with database.reading() as session:
        assert [o.id for o in orders.by_email(session, "ada@example.com")] == [outcome["winner"]]


def test_place_once_under_a_crowd_places_one_order(database):
    key = RequestKey("k-crowd", "a" * 64, DAY)
    email = "crowd@example.com"
    placed = all_at_once(
        6,
        lambda _i: idempotency.place_once(database, key, lambda: place(database, key, email=email)),
    )
    assert len({order.id for order in placed}) == 1
    with database.reading() as session:
        assert [o.id for o in orders.by_email(session, email)] == [placed[0].id]


def test_forget_frees_the_key_of_an_undone_order(database):
    key = RequestKey("k-undone", "a" * 64, DAY)
    order = place(database, key)
    with database.writing() as session:
        orders.delete(session, order.id)
        idempotency.forget(session, key, order.id)
    assert earlier(database, key, datetime.now(UTC)) is None
    assert place(database, key).id != order.id
