"""Simultaneous orders never oversell: stock is reserved atomically, whatever the stage."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from tests.contract.helpers import assert_problem, notifications_for, stock_is
from tests.support.client import new_email

T = TypeVar("T")


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) in `count` threads released together; results in index order."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def place_simultaneously(shop, orders: list[list[tuple[str, int]]]) -> list[dict]:
    """Place the orders at the same moment, each from its own new email; their final states."""
    emails = [new_email() for _ in orders]

    def place(index: int) -> str:
        answer = shop.place(emails[index], orders[index])
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    ids = all_at_once(len(orders), place)
    return [shop.wait_final(order_id) for order_id in ids]


def outcomes(finals: list[dict]) -> Counter:
    return Counter((order["status"], order["reason"]) for order in finals)


def assert_paid_and_told_exactly_the_confirmed(shop, finals: list[dict]) -> None:
    for order in finals:
        captured = [p for p in shop.payments_of(order["id"]) if p["status"] == "captured"]
        wanted = "order_confirmed" if order["status"] == "confirmed" else "order_rejected"
        assert len(captured) == (1 if order["status"] == "confirmed" else 0), order
        messages = notifications_for(shop, order["email"])
        assert [(m["kind"], m["order_id"]) for m in messages] == [(wanted, order["id"])]


def test_25_buyers_for_5_units(shop):
    sku = shop.new_product(stock=5)
    finals = place_simultaneously(shop, [[(sku, 1)]] * 25)
    assert outcomes(finals) == {("confirmed", None): 5, ("rejected", "out_of_stock"): 20}
    stock_is(shop, sku, available=0, reserved=0, sold=5)
    assert_paid_and_told_exactly_the_confirmed(shop, finals)


def test_10_buyers_of_2_units_for_7_units(shop):
    sku = shop.new_product(stock=7)
    finals = place_simultaneously(shop, [[(sku, 2)]] * 10)
    assert outcomes(finals) == {("confirmed", None): 3, ("rejected", "out_of_stock"): 7}
    stock_is(shop, sku, available=1, reserved=0, sold=6)


def test_crossed_multi_line_orders_neither_deadlock_nor_oversell(shop):
    first, second = shop.new_product(stock=10), shop.new_product(stock=10)
    crossed = [[(first, 1), (second, 1)], [(second, 1), (first, 1)]]
    finals = place_simultaneously(shop, [crossed[i % 2] for i in range(20)])
    assert outcomes(finals) == {("confirmed", None): 10, ("rejected", "out_of_stock"): 10}
    stock_is(shop, first, available=0, reserved=0, sold=10)
    stock_is(shop, second, available=0, reserved=0, sold=10)


def test_declined_payments_beside_paid_ones_release_their_stock(shop):
    # One unit more than there are declines: the six declines can hold at most six units at
    # once, so whatever order the stage takes them in, at least one paid order finds stock.
    units = 7
    sku = shop.new_product(stock=units)
    emails = [new_email() for _ in range(12)]

    def place(index: int) -> str:
        token = "tok_decline" if index % 2 else "tok_visa"
        answer = shop.place(emails[index], [(sku, 1)], token=token)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    finals = [shop.wait_final(order_id) for order_id in all_at_once(12, place)]
    confirmed = sum(order["status"] == "confirmed" for order in finals)
    declined = sum(order["reason"] == "payment_declined" for order in finals)
    assert 1 <= confirmed <= 6
    assert declined + confirmed + sum(o["reason"] == "out_of_stock" for o in finals) == 12
    # A decline holds its unit only while its saga runs (in the monolith, not even that:
    # one transaction); in the end every unit is sold or back on the shelf, none is lost.
    stock_is(shop, sku, available=units - confirmed, reserved=0, sold=confirmed)
    rest = shop.place_and_wait(new_email(), [(sku, units - confirmed)])
    assert rest["status"] == "confirmed"
    stock_is(shop, sku, available=0, reserved=0, sold=units)


def test_simultaneous_restocks_add_up(shop):
    sku = shop.new_product(stock=0)

    def restock(_index: int) -> int:
        answer = shop.post(f"/api/stock/{sku}", json={"quantity": 3}, headers=shop.admin)
        return answer.status_code

    assert all_at_once(20, restock) == [200] * 20
    stock_is(shop, sku, available=60, reserved=0, sold=0)


def test_simultaneous_creation_of_one_sku_makes_one_product(shop, request):
    sku = "C-" + secrets.token_hex(5).upper()

    def create(index: int):
        body = {"sku": sku, "name": f"Racer {index}", "price_cents": 100 + index}
        return shop.post("/api/products", json=body, headers=shop.admin)

    answers = all_at_once(10, create)
    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, "already-exists")
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert shop.get(f"/api/products/{sku}").json() == winner
    stock_is(shop, sku, available=0, reserved=0, sold=0)
