"""Idempotency-Key on POST /api/orders: a client that lost an answer can safely ask again.

Same key and body: the same order, answered 202 with its status now, and nothing placed,
charged, moved or sent a second time. Same key, another body: 422. A malformed key: 422
naming the header, nothing written. Without the header, every POST is a new order.
"""

from __future__ import annotations

import secrets

import pytest

from tests.contract.helpers import assert_problem, notifications_for, stock_is
from tests.contract.test_concurrency import all_at_once
from tests.support.client import new_email


def new_key() -> str:
    return "idem-" + secrets.token_hex(12)


def order_body(email: str, sku: str, quantity: int, token: str = "tok_visa") -> dict:
    return {"email": email, "payment_token": token, "lines": [{"sku": sku, "quantity": quantity}]}


def post_order(shop, body: dict, key: str | bytes | None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return shop.post("/api/orders", json=body, headers=headers)


def assert_placed_once(shop, email: str, sku: str, quantity: int, stock: int) -> dict:
    """Exactly one order for `email`, final, charged and told once, its stock moved once."""
    (listed,) = shop.orders_of(email)
    order = shop.wait_final(listed["id"])
    assert order["status"] == "confirmed", order
    stock_is(shop, sku, available=stock - quantity, reserved=0, sold=quantity)
    assert [p["status"] for p in shop.payments_of(order["id"])] == ["captured"]
    messages = notifications_for(shop, email)
    assert [(m["kind"], m["order_id"]) for m in messages] == [("order_confirmed", order["id"])]
    return order


def test_the_same_key_and_body_answer_the_same_order(shop):
    sku, email, key = shop.new_product(stock=10), new_email(), new_key()
    body = order_body(email, sku, 2)
    first = post_order(shop, body, key)
    assert first.status_code == 202, first.text
    order_id = first.json()["id"]

    again = post_order(shop, body, key)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == order_id
    assert again.headers["Location"] == first.headers["Location"]

    final = assert_placed_once(shop, email, sku, 2, stock=10)
    assert final["id"] == order_id
    replayed = post_order(shop, body, key)  # later: the order as it is now
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == final
    assert_placed_once(shop, email, sku, 2, stock=10)


def test_a_rejected_order_is_answered_again_as_rejected(shop):
    sku, email, key = shop.new_product(stock=5), new_email(), new_key()
    body = order_body(email, sku, 1, token="tok_decline")
    first = post_order(shop, body, key)
    assert first.status_code == 202, first.text
    final = shop.wait_final(first.json()["id"])
    assert (final["status"], final["reason"]) == ("rejected", "payment_declined")
    again = post_order(shop, body, key)
    assert again.status_code == 202, again.text
    assert again.json() == final
    assert [o["id"] for o in shop.orders_of(email)] == [final["id"]]
    stock_is(shop, sku, available=5, reserved=0, sold=0)


def test_the_same_key_with_another_body_is_refused(shop):
    sku, email, key = shop.new_product(stock=10), new_email(), new_key()
    first = post_order(shop, order_body(email, sku, 2), key)
    assert first.status_code == 202, first.text

    other = post_order(shop, order_body(email, sku, 3), key)
    problem = assert_problem(other, "idempotency-key-reused")
    assert "Idempotency-Key" in problem["detail"]
    elsewhere = post_order(shop, order_body(new_email(), sku, 2), key)
    assert_problem(elsewhere, "idempotency-key-reused")

    assert_placed_once(shop, email, sku, 2, stock=10)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("two words", id="space"),
        pytest.param(b"caf\xe9", id="not-ascii"),
    ],
)
def test_a_malformed_key_is_a_422_naming_the_header_and_writes_nothing(shop, key):
    sku, email = shop.new_product(stock=3), new_email()
    answer = post_order(shop, order_body(email, sku, 1), key)
    problem = assert_problem(answer, "validation-error")
    assert "Idempotency-Key" in problem["detail"], problem
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"], problem
    assert shop.orders_of(email) == []
    stock_is(shop, sku, available=3, reserved=0, sold=0)


def test_a_malformed_key_is_named_before_a_bad_body(shop):
    answer = shop.post("/api/orders", json={"lines": []}, headers={"Idempotency-Key": "a b"})
    problem = assert_problem(answer, "validation-error")
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"], problem


def test_the_longest_key_of_visible_ascii_is_taken(shop):
    sku, email = shop.new_product(stock=3), new_email()
    key = ("!~" + secrets.token_hex(4)).ljust(255, "x")
    body = order_body(email, sku, 1)
    first = post_order(shop, body, key)
    assert first.status_code == 202, first.text
    assert post_order(shop, body, key).json()["id"] == first.json()["id"]
    assert_placed_once(shop, email, sku, 1, stock=3)


def test_simultaneous_requests_with_one_key_place_one_order(shop):
    sku, email, key = shop.new_product(stock=10), new_email(), new_key()
    body = order_body(email, sku, 1)

    def place(_index: int) -> str:
        answer = post_order(shop, body, key)
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]

    ids = all_at_once(6, place)
    assert len(set(ids)) == 1, ids
    order = assert_placed_once(shop, email, sku, 1, stock=10)
    assert order["id"] == ids[0]


def test_without_a_key_each_post_is_a_new_order(shop):
    sku, email = shop.new_product(stock=10), new_email()
    body = order_body(email, sku, 1)
    ids = {post_order(shop, body, None).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    for order_id in ids:
        assert shop.wait_final(order_id)["status"] == "confirmed"
    stock_is(shop, sku, available=8, reserved=0, sold=2)
