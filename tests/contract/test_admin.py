"""Admin endpoints: a bearer token or nothing, and nothing written without it.

Writes: POST /api/products, PUT /api/products/{sku}, POST /api/stock/{sku}.
Reads:  GET /api/orders?email=, GET /api/payments?order_id=, GET /api/notifications?email=.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.contract.helpers import assert_problem, notifications_for
from tests.support.client import new_email

NAME = "Admin test item"
PRICE = 2500
STOCK = 3


def fresh_sku() -> str:
    return "A-" + secrets.token_hex(5).upper()


@dataclass
class World:
    """What the admin calls act on: a product with stock, a sku not yet created, an order."""

    sku: str
    new_sku: str
    email: str
    order_id: str


@pytest.fixture
def world(shop) -> World:
    sku = fresh_sku()
    created = shop.post(
        "/api/products",
        json={"sku": sku, "name": NAME, "price_cents": PRICE},
        headers=shop.admin,
    )
    assert created.status_code == 201, created.text
    assert shop.post(f"/api/stock/{sku}", json={"quantity": STOCK}, headers=shop.admin).is_success
    email = new_email()
    order = shop.place_and_wait(email, [(sku, 1)])
    assert order["status"] == "confirmed"
    notifications_for(shop, email)
    return World(sku=sku, new_sku=fresh_sku(), email=email, order_id=order["id"])


def product_is_unchanged(shop, w: World) -> None:
    product = shop.get(f"/api/products/{w.sku}").json()
    assert (product["name"], product["price_cents"]) == (NAME, PRICE)


def stock_is_unchanged(shop, w: World) -> None:
    level = shop.stock(w.sku)
    assert (level["available"], level["reserved"], level["sold"]) == (STOCK - 1, 0, 1)


def product_not_created(shop, w: World) -> None:
    assert_problem(shop.get(f"/api/products/{w.new_sku}"), "not-found")
    assert_problem(shop.get(f"/api/stock/{w.new_sku}"), "not-found")


def nothing(shop, w: World) -> None:
    return None


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[World], str]
    kwargs: Callable[[World], dict[str, Any]]
    unchanged: Callable[[Any, World], None]


ENDPOINTS = [
    Endpoint(
        "create-product",
        "POST",
        lambda w: "/api/products",
        lambda w: {"json": {"sku": w.new_sku, "name": "Sneaky", "price_cents": 1}},
        product_not_created,
    ),
    Endpoint(
        "update-product",
        "PUT",
        lambda w: f"/api/products/{w.sku}",
        lambda w: {"json": {"name": "Sneaky", "price_cents": 1}},
        product_is_unchanged,
    ),
    Endpoint(
        "restock",
        "POST",
        lambda w: f"/api/stock/{w.sku}",
        lambda w: {"json": {"quantity": 50}},
        stock_is_unchanged,
    ),
    Endpoint(
        "list-orders",
        "GET",
        lambda w: "/api/orders",
        lambda w: {"params": {"email": w.email}},
        nothing,
    ),
    Endpoint(
        "list-payments",
        "GET",
        lambda w: "/api/payments",
        lambda w: {"params": {"order_id": w.order_id}},
        nothing,
    ),
    Endpoint(
        "list-notifications",
        "GET",
        lambda w: "/api/notifications",
        lambda w: {"params": {"email": w.email}},
        nothing,
    ),
]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (id, Authorization header or None; a callable gets the right token, problem slug)
AUTHS: list[tuple[str, Callable[[str], str | None], str]] = [
    ("no-header", lambda token: None, "unauthorized"),
    ("empty-header", lambda token: "", "unauthorized"),
    ("basic", lambda token: basic("admin", token), "unauthorized"),
    ("bearer-no-token", lambda token: "Bearer", "unauthorized"),
    ("other-scheme-right-token", lambda token: f"Token {token}", "unauthorized"),
    ("bare-right-token", lambda token: token, "unauthorized"),
    ("bearer-wrong-token", lambda token: "Bearer not-the-admin-token", "forbidden"),
    ("bearer-token-prefix", lambda token: f"Bearer {token[:-1]}", "forbidden"),
    ("bearer-token-longer", lambda token: f"Bearer {token}x", "forbidden"),
    ("bearer-token-upper-case", lambda token: f"Bearer {token.upper()}", "forbidden"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
@pytest.mark.parametrize(("header", "slug"), [a[1:] for a in AUTHS], ids=[a[0] for a in AUTHS])
def test_admin_endpoint_refuses_without_the_token(shop, world, endpoint, header, slug):
    value = header(shop.admin_token)
    headers = {} if value is None else {"Authorization": value}
    answer = shop.request(
        endpoint.method, endpoint.path(world), headers=headers, **endpoint.kwargs(world)
    )
    body = assert_problem(answer, slug)
    assert "items" not in body
    if slug == "unauthorized":
        assert answer.headers.get("www-authenticate", "").lower().startswith("bearer")
    else:
        assert "www-authenticate" not in answer.headers
    endpoint.unchanged(shop, world)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_admin_endpoint_accepts_the_token(shop, world, endpoint):
    answer = shop.request(
        endpoint.method, endpoint.path(world), headers=shop.admin, **endpoint.kwargs(world)
    )
    assert answer.status_code in {200, 201}, answer.text


def test_bearer_scheme_is_case_insensitive(shop, world):
    headers = {"Authorization": f"bearer {shop.admin_token}"}
    answer = shop.get("/api/orders", params={"email": world.email}, headers=headers)
    assert answer.status_code == 200
    assert [o["id"] for o in answer.json()["items"]] == [world.order_id]


def test_authentication_comes_before_validation(shop):
    sku = fresh_sku()
    answer = shop.post("/api/products", json={"sku": sku, "price_cents": "free"})
    assert_problem(answer, "unauthorized")
    forbidden = shop.post(
        "/api/products",
        json={"sku": sku},
        headers={"Authorization": "Bearer not-the-admin-token"},
    )
    assert_problem(forbidden, "forbidden")


def test_customer_cannot_list_orders_without_the_token(shop):
    sku = fresh_sku()
    assert shop.post(
        "/api/products", json={"sku": sku, "name": NAME, "price_cents": PRICE}, headers=shop.admin
    ).is_success
    assert shop.post(f"/api/stock/{sku}", json={"quantity": 1}, headers=shop.admin).is_success
    email = new_email()
    order = shop.place_and_wait(email, [(sku, 1)])
    assert_problem(shop.get("/api/orders", params={"email": email}), "unauthorized")
    wrong = {"Authorization": "Bearer " + secrets.token_hex(16)}
    assert_problem(shop.get("/api/orders", params={"email": email}, headers=wrong), "forbidden")
    # ... while the order itself stays readable by its unguessable id
    assert shop.get(f"/api/orders/{order['id']}").status_code == 200
    assert [o["id"] for o in shop.orders_of(email)] == [order["id"]]


# --- products, with the token ------------------------------------------------------------------


def test_create_product(shop):
    sku = fresh_sku()
    answer = shop.post(
        "/api/products",
        json={"sku": sku, "name": "Brand new", "price_cents": 999},
        headers=shop.admin,
    )
    assert answer.status_code == 201
    expected = {
        "sku": sku,
        "name": "Brand new",
        "description": "",
        "price_cents": 999,
        "currency": "EUR",
    }
    assert answer.json() == expected
    assert shop.get(f"/api/products/{sku}").json() == expected
    assert shop.stock(sku) == {"sku": sku, "available": 0, "reserved": 0, "sold": 0}
    found = shop.get("/api/products", params={"q": sku}).json()
    assert [p["sku"] for p in found["items"]] == [sku]


def test_create_product_with_every_field(shop):
    sku = fresh_sku()
    body = {
        "sku": sku,
        "name": "Franc item",
        "description": "Made somewhere",
        "price_cents": 12345,
        "currency": "CHF",
    }
    answer = shop.post("/api/products", json=body, headers=shop.admin)
    assert answer.status_code == 201
    assert answer.json() == body
    assert shop.get(f"/api/products/{sku}").json() == body


def test_create_existing_product_is_409_and_keeps_the_first(shop):
    sku = fresh_sku()
    first = {"sku": sku, "name": "First", "price_cents": 100}
    assert shop.post("/api/products", json=first, headers=shop.admin).status_code == 201
    again = shop.post(
        "/api/products", json={"sku": sku, "name": "Second", "price_cents": 200}, headers=shop.admin
    )
    assert_problem(again, "already-exists")
    product = shop.get(f"/api/products/{sku}").json()
    assert (product["name"], product["price_cents"]) == ("First", 100)


def test_create_seed_product_again_is_409(shop):
    body = {"sku": "TF-0001", "name": "Hijacked", "price_cents": 1}
    assert_problem(shop.post("/api/products", json=body, headers=shop.admin), "already-exists")
    assert shop.get("/api/products/TF-0001").json()["name"] == "Oak Mug"


@pytest.mark.parametrize(
    "changes",
    [
        {"sku": "lower-case"},
        {"sku": "X"},
        {"sku": "-LEADING-DASH"},
        {"name": ""},
        {"name": "   "},
        {"name": "\u000bWalnut Tray\u000b"},
        {"name": " Walnut Tray"},
        {"name": "Walnut Tray "},
        {"name": "Walnut Tray\n"},
        {"description": " A tray"},
        {"description": "A tray\n"},
        {"sku": " A-PADDED-1 "},
        {"name": "n" * 201},
        {"description": "d" * 2001},
        {"price_cents": 0},
        {"price_cents": -5},
        {"price_cents": 9.99},
        {"price_cents": "999"},
        {"price_cents": 100_000_001},
        {"currency": "XXX"},
        {"currency": "eur"},
        {"stock": 5},
    ],
    ids=lambda changes: "-".join(f"{k}={str(v)[:10]}" for k, v in changes.items()),
)
def test_invalid_product_is_422_and_not_created(shop, changes):
    sku = fresh_sku()
    body = {"sku": sku, "name": "Valid name", "price_cents": 100} | changes
    answer = shop.post("/api/products", json=body, headers=shop.admin)
    assert_problem(answer, "validation-error")
    assert_problem(shop.get(f"/api/products/{body['sku']}"), "not-found")
    assert_problem(shop.get(f"/api/products/{sku}"), "not-found")


@pytest.mark.parametrize("field", ["sku", "name", "price_cents"])
def test_product_without_a_required_field_is_422(shop, field):
    body = {"sku": fresh_sku(), "name": "Valid name", "price_cents": 100}
    sku = body["sku"]
    del body[field]
    assert_problem(shop.post("/api/products", json=body, headers=shop.admin), "validation-error")
    assert_problem(shop.get(f"/api/products/{sku}"), "not-found")


def test_update_product(shop, world):
    body = {"name": "Renamed item", "description": "Now with a story", "price_cents": 4200}
    answer = shop.put(f"/api/products/{world.sku}", json=body, headers=shop.admin)
    assert answer.status_code == 200
    expected = {"sku": world.sku, "currency": "EUR"} | body
    assert answer.json() == expected
    assert shop.get(f"/api/products/{world.sku}").json() == expected
    found = shop.get("/api/products", params={"q": "renamed item " + world.sku}).json()
    assert [p["sku"] for p in found["items"]] == [world.sku]
    stock_is_unchanged(shop, world)


def test_update_unknown_product_is_404_and_creates_nothing(shop):
    sku = fresh_sku()
    answer = shop.put(
        f"/api/products/{sku}", json={"name": "Ghost", "price_cents": 100}, headers=shop.admin
    )
    assert_problem(answer, "not-found")
    assert_problem(shop.get(f"/api/products/{sku}"), "not-found")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "No price"},
        {"name": "x", "price_cents": 0},
        {"sku": "B-123", "name": "x", "price_cents": 1},
        {"name": " Padded", "price_cents": 1},
        {"name": "Walnut\u000b", "price_cents": 1},
    ],
    ids=["empty", "no-price", "price-0", "sku-in-body", "name-padded", "name-vtab"],
)
def test_invalid_update_is_422_and_changes_nothing(shop, world, body):
    answer = shop.put(f"/api/products/{world.sku}", json=body, headers=shop.admin)
    assert_problem(answer, "validation-error")
    product_is_unchanged(shop, world)


# --- stock, with the token ---------------------------------------------------------------------


def test_restock_adds_units(shop, world):
    answer = shop.post(f"/api/stock/{world.sku}", json={"quantity": 4}, headers=shop.admin)
    assert answer.status_code == 200
    assert answer.json() == {"sku": world.sku, "available": STOCK - 1 + 4, "reserved": 0, "sold": 1}
    assert shop.stock(world.sku) == answer.json()
    again = shop.post(f"/api/stock/{world.sku}", json={"quantity": 1}, headers=shop.admin)
    assert again.json()["available"] == STOCK - 1 + 5


def test_restocked_units_can_be_sold(shop):
    sku = shop.new_product(stock=0)
    assert shop.place_and_wait(new_email(), [(sku, 2)])["reason"] == "out_of_stock"
    assert shop.post(f"/api/stock/{sku}", json={"quantity": 2}, headers=shop.admin).is_success
    assert shop.place_and_wait(new_email(), [(sku, 2)])["status"] == "confirmed"


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 0},
        {"quantity": -1},
        {"quantity": 1.5},
        {"quantity": "5"},
        {"quantity": True},
        {"quantity": None},
        {"quantity": 1_000_001},
        {},
        {"quantity": 5, "note": "extra"},
    ],
    ids=["0", "-1", "1.5", "string", "true", "null", "over-max", "missing", "extra-field"],
)
def test_invalid_restock_is_422_and_changes_nothing(shop, world, body):
    answer = shop.post(f"/api/stock/{world.sku}", json=body, headers=shop.admin)
    assert_problem(answer, "validation-error")
    stock_is_unchanged(shop, world)


def test_restock_unknown_sku_is_404(shop):
    sku = fresh_sku()
    answer = shop.post(f"/api/stock/{sku}", json={"quantity": 5}, headers=shop.admin)
    assert_problem(answer, "not-found")
    assert_problem(shop.get(f"/api/stock/{sku}"), "not-found")


# --- admin reads, with the token ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/orders", {}),
        ("/api/orders", {"email": "x"}),
        ("/api/notifications", {}),
        ("/api/payments", {}),
        ("/api/payments", {"order_id": "o" * 65}),
        ("/api/orders", {"email": " ada@example.com "}),
        ("/api/notifications", {"email": "ada@example.com\n"}),
        ("/api/payments", {"order_id": " ord_1"}),
    ],
    ids=[
        "orders-no-email",
        "orders-short-email",
        "notifications-no-email",
        "payments-no-id",
        "payments-long-id",
        "orders-padded-email",
        "notifications-email-newline",
        "payments-padded-id",
    ],
)
def test_admin_read_without_its_parameter_is_422(shop, path, params):
    assert_problem(shop.get(path, params=params, headers=shop.admin), "validation-error")


def test_admin_reads_of_nobody_are_empty(shop):
    assert shop.orders_of(new_email()) == []
    assert shop.notifications_of(new_email()) == []
    assert shop.payments_of("ord_" + "Z" * 22) == []
