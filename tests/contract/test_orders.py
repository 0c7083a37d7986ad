"""Placing orders: confirmed, out of stock, all-or-nothing, declined, merged lines, reading.

Every test waits for the final status with wait_final/place_and_wait, so it holds for a
stage that answers 202 `pending` and finishes the order later; side effects are polled.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest

from tests.contract.helpers import assert_problem, notifications_for, stock_is
from tests.support.client import new_email

PRICE = 1250


def product_price(shop, sku: str) -> int:
    answer = shop.get(f"/api/products/{sku}")
    assert answer.status_code == 200
    return answer.json()["price_cents"]


def assert_no_capture(shop, order_id: str) -> None:
    payments = shop.payments_of(order_id)
    assert all(p["status"] != "captured" for p in payments), payments


# --- a confirmed order ---------------------------------------------------------------------------


@pytest.fixture
def confirmed(shop):
    """A new product with 10 units, and an order of 3 of them paid with tok_visa."""
    sku = shop.new_product(stock=10, price_cents=PRICE)
    email = new_email()
    answer = shop.place(email, [(sku, 3)])
    assert answer.status_code == 202, answer.text
    order = shop.wait_final(answer.json()["id"])
    return {"sku": sku, "email": email, "answer": answer, "order": order}


def test_post_answers_202_with_location(confirmed):
    answer = confirmed["answer"]
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["id"].startswith("ord_")
    assert body["status"] in {"pending", "confirmed"}
    assert body["email"] == confirmed["email"]
    assert urlsplit(answer.headers["Location"]).path == f"/api/orders/{body['id']}"


def test_confirmed_order_is_priced_from_the_catalog(confirmed):
    order = confirmed["order"]
    assert order["status"] == "confirmed"
    assert order["reason"] is None
    assert order["email"] == confirmed["email"]
    assert order["currency"] == "EUR"
    assert order["total_cents"] == 3 * PRICE
    assert order["lines"] == [
        {
            "sku": confirmed["sku"],
            "quantity": 3,
            "unit_price_cents": PRICE,
            "line_total_cents": 3 * PRICE,
        }
    ]
    assert order["created_at"] <= order["updated_at"]


def test_get_order_returns_it(shop, confirmed):
    order = confirmed["order"]
    answer = shop.get(f"/api/orders/{order['id']}")
    assert answer.status_code == 200
    assert answer.json() == order


def test_confirmed_order_is_paid_once(shop, confirmed):
    order = confirmed["order"]
    payments = shop.payments_of(order["id"])
    assert len(payments) == 1, payments
    payment = payments[0]
    assert payment["status"] == "captured"
    assert payment["order_id"] == order["id"]
    assert payment["amount_cents"] == order["total_cents"] == 3 * PRICE
    assert payment["currency"] == "EUR"
    assert payment["reason"] is None


def test_confirmed_order_notifies_the_customer_once(shop, confirmed):
    order = confirmed["order"]
    messages = notifications_for(shop, confirmed["email"])
    assert len(messages) == 1, messages
    message = messages[0]
    assert message["kind"] == "order_confirmed"
    assert message["order_id"] == order["id"]
    assert message["email"] == confirmed["email"]
    assert message["subject"] and message["body"]


def test_confirmed_order_sells_the_stock(shop, confirmed):
    stock_is(shop, confirmed["sku"], available=7, reserved=0, sold=3)


def test_order_lists_under_its_email(shop, confirmed):
    assert [o["id"] for o in shop.orders_of(confirmed["email"])] == [confirmed["order"]["id"]]


def test_a_seed_product_can_be_ordered(shop):
    before = shop.stock("TF-0003")
    order = shop.place_and_wait(new_email(), [("TF-0003", 1)])
    assert order["status"] == "confirmed"
    assert order["lines"][0]["unit_price_cents"] == product_price(shop, "TF-0003")
    after = shop.stock("TF-0003")
    assert after["sold"] >= before["sold"] + 1


# --- rejected orders -----------------------------------------------------------------------------


def test_out_of_stock_is_rejected_and_changes_nothing(shop):
    sku = shop.new_product(stock=2)
    email = new_email()
    order = shop.place_and_wait(email, [(sku, 3)])
    assert order["status"] == "rejected"
    assert order["reason"] == "out_of_stock"
    assert order["lines"][0]["quantity"] == 3
    stock_is(shop, sku, available=2, reserved=0, sold=0)
    assert_no_capture(shop, order["id"])
    messages = notifications_for(shop, email)
    assert [(m["kind"], m["order_id"]) for m in messages] == [("order_rejected", order["id"])]


def test_order_is_all_or_nothing(shop):
    plenty = shop.new_product(stock=5)
    short = shop.new_product(stock=1)
    email = new_email()
    order = shop.place_and_wait(email, [(plenty, 2), (short, 3)])
    assert order["status"] == "rejected"
    assert order["reason"] == "out_of_stock"
    stock_is(shop, plenty, available=5, reserved=0, sold=0)
    stock_is(shop, short, available=1, reserved=0, sold=0)
    assert_no_capture(shop, order["id"])
    assert [m["kind"] for m in notifications_for(shop, email)] == ["order_rejected"]


def test_order_of_exactly_the_stock_is_confirmed(shop):
    sku = shop.new_product(stock=4)
    order = shop.place_and_wait(new_email(), [(sku, 4)])
    assert order["status"] == "confirmed"
    stock_is(shop, sku, available=0, reserved=0, sold=4)
    second = shop.place_and_wait(new_email(), [(sku, 1)])
    assert (second["status"], second["reason"]) == ("rejected", "out_of_stock")
    stock_is(shop, sku, available=0, reserved=0, sold=4)


def test_product_without_stock_is_out_of_stock(shop):
    sku = shop.new_product(stock=0)
    order = shop.place_and_wait(new_email(), [(sku, 1)])
    assert (order["status"], order["reason"]) == ("rejected", "out_of_stock")
    stock_is(shop, sku, available=0, reserved=0, sold=0)


def test_declined_card_rejects_and_releases_the_stock(shop):
    sku = shop.new_product(stock=5, price_cents=PRICE)
    email = new_email()
    order = shop.place_and_wait(email, [(sku, 2)], token="tok_decline")
    assert order["status"] == "rejected"
    assert order["reason"] == "payment_declined"
    stock_is(shop, sku, available=5, reserved=0, sold=0)
    payments = shop.payments_of(order["id"])
    assert len(payments) == 1, payments
    assert payments[0]["status"] == "declined"
    assert payments[0]["amount_cents"] == order["total_cents"] == 2 * PRICE
    messages = notifications_for(shop, email)
    assert [(m["kind"], m["order_id"]) for m in messages] == [("order_rejected", order["id"])]


def test_stock_released_by_a_decline_can_be_sold(shop):
    sku = shop.new_product(stock=2)
    declined = shop.place_and_wait(new_email(), [(sku, 2)], token="tok_decline")
    assert declined["status"] == "rejected"
    stock_is(shop, sku, available=2, reserved=0, sold=0)
    order = shop.place_and_wait(new_email(), [(sku, 2)])
    assert order["status"] == "confirmed"
    stock_is(shop, sku, available=0, reserved=0, sold=2)


# --- lines ---------------------------------------------------------------------------------------


def test_duplicate_skus_are_merged(shop):
    sku = shop.new_product(stock=10, price_cents=PRICE)
    order = shop.place_and_wait(new_email(), [(sku, 2), (sku, 3)])
    assert order["status"] == "confirmed"
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [(sku, 5)]
    assert order["lines"][0]["line_total_cents"] == 5 * PRICE
    assert order["total_cents"] == 5 * PRICE
    stock_is(shop, sku, available=5, reserved=0, sold=5)


def test_order_of_several_products(shop):
    first = shop.new_product(stock=5, price_cents=300)
    second = shop.new_product(stock=5, price_cents=1999)
    order = shop.place_and_wait(new_email(), [(first, 2), (second, 1)])
    assert order["status"] == "confirmed"
    lines = {line["sku"]: line for line in order["lines"]}
    assert lines[first]["quantity"] == 2 and lines[first]["unit_price_cents"] == 300
    assert lines[second]["quantity"] == 1 and lines[second]["unit_price_cents"] == 1999
    assert order["total_cents"] == 2 * 300 + 1999
    assert shop.payments_of(order["id"])[0]["amount_cents"] == 2 * 300 + 1999
    stock_is(shop, first, available=3, reserved=0, sold=2)
    stock_is(shop, second, available=4, reserved=0, sold=1)


def test_large_totals_are_exact(shop):
    top_price = 100_000_000  # the highest unit price: 1,000,000.00
    first = shop.new_product(stock=100, price_cents=top_price)
    second = shop.new_product(stock=100, price_cents=top_price - 1)
    order = shop.place_and_wait(new_email(), [(first, 100), (second, 100)])
    assert order["status"] == "confirmed"
    total = 100 * top_price + 100 * (top_price - 1)
    assert order["total_cents"] == total  # 19,999,999,900 cents: far past 32 bits
    assert shop.payments_of(order["id"])[0]["amount_cents"] == total


def test_order_keeps_the_price_it_was_placed_at(shop):
    sku = shop.new_product(stock=5, price_cents=PRICE)
    order = shop.place_and_wait(new_email(), [(sku, 1)])
    changed = shop.put(
        f"/api/products/{sku}",
        json={"name": "Dearer", "price_cents": PRICE * 2},
        headers=shop.admin,
    )
    assert changed.status_code == 200
    again = shop.get(f"/api/orders/{order['id']}").json()
    assert again["lines"][0]["unit_price_cents"] == PRICE
    assert again["total_cents"] == PRICE
    later = shop.place_and_wait(new_email(), [(sku, 1)])
    assert later["lines"][0]["unit_price_cents"] == PRICE * 2


# --- reading orders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order_id",
    [
        "ord_" + "A" * 22,
        "ord_" + secrets.token_urlsafe(16),
        "nonsense",
        "ord_",
        "ord_" + "x" * 200,
        "1",
    ],
    ids=["ord-AAAA", "ord-random", "garbage", "prefix-only", "too-long", "number"],
)
def test_unknown_order_is_404_problem(shop, order_id):
    assert_problem(shop.get(f"/api/orders/{order_id}"), "not-found")


def test_orders_list_only_that_customers_orders(shop):
    sku = shop.new_product(stock=10)
    ada, bob = new_email(), new_email()
    first = shop.place_and_wait(ada, [(sku, 1)])
    other = shop.place_and_wait(bob, [(sku, 1)])
    second = shop.place_and_wait(ada, [(sku, 20)])  # rejected, still Ada's order
    assert second["status"] == "rejected"
    listed = shop.orders_of(ada)
    assert [o["id"] for o in listed] == [first["id"], second["id"]]  # oldest first
    assert all(o["email"] == ada for o in listed)
    assert [o["id"] for o in shop.orders_of(bob)] == [other["id"]]
    assert shop.orders_of(new_email()) == []


def test_notifications_list_only_that_customers_messages(shop):
    sku = shop.new_product(stock=10)
    ada, bob = new_email(), new_email()
    mine = shop.place_and_wait(ada, [(sku, 1)])
    shop.place_and_wait(bob, [(sku, 1)])
    messages = notifications_for(shop, ada)
    assert [m["order_id"] for m in messages] == [mine["id"]]
    assert shop.notifications_of(new_email()) == []


def test_payments_of_an_unknown_order_are_empty(shop):
    assert shop.payments_of("ord_" + "B" * 22) == []
