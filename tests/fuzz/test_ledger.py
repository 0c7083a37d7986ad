"""The after-run check can fail: it sees what a refused request wrote."""

from __future__ import annotations

import copy
from types import SimpleNamespace

from tests.fuzz.ledger import Ledger


class FakeShop:
    """The admin API's answers over a shop held in dicts (what `Ledger.verify` reads)."""

    def __init__(self, ledger: Ledger) -> None:
        self.products = copy.deepcopy(ledger.seeded_products)
        self.stock_totals = dict(ledger.seeded_stock)
        self.orders: dict[str, list[str]] = {}

    def get(self, path: str, params: dict | None = None):
        if path == "/api/products":
            items = sorted(self.products.values(), key=lambda p: p["sku"])
            start = (params["page"] - 1) * params["per_page"]
            page = {"items": items[start : start + params["per_page"]]}
            return SimpleNamespace(status_code=200, json=lambda: page, text="")
        sku = path.rsplit("/", 1)[1]
        return SimpleNamespace(status_code=200 if sku in self.products else 404)

    def stock(self, sku: str) -> dict[str, int]:
        return {"available": self.stock_totals.get(sku, 0), "reserved": 0, "sold": 0}

    def orders_of(self, email: str) -> list[dict]:
        return [{"id": order_id} for order_id in self.orders.get(email, [])]


def _answer(status: int, body: dict | None = None):
    return SimpleNamespace(status_code=status, json=lambda: body)


def _case(body=None, **path_parameters):
    return SimpleNamespace(body=body, path_parameters=path_parameters)


PRODUCT = {"sku": "NEW-1", "name": "n", "description": "", "price_cents": 5, "currency": "EUR"}


def test_an_untouched_shop_passes():
    ledger = Ledger.of_seed()
    assert ledger.verify(FakeShop(ledger)) == []


def test_accepted_writes_are_expected():
    ledger = Ledger.of_seed()
    shop = FakeShop(ledger)
    ledger.record("t", "POST", "/api/products", _case(PRODUCT), _answer(201, PRODUCT))
    stock = {"sku": "NEW-1", "available": 7, "reserved": 0, "sold": 0}
    ledger.record("t", "POST", "/api/stock/{sku}", _case({"quantity": 7.0}), _answer(200, stock))
    shop.products["NEW-1"], shop.stock_totals["NEW-1"] = PRODUCT, 7
    assert ledger.verify(shop) == []


def test_a_refused_create_that_wrote_is_found():
    ledger = Ledger.of_seed()
    shop = FakeShop(ledger)
    ledger.record("t", "POST", "/api/products", _case(PRODUCT), _answer(422))
    shop.products["NEW-1"] = PRODUCT
    assert any("no accepted request created it" in line for line in ledger.verify(shop))


def test_a_refused_restock_or_update_that_wrote_is_found():
    ledger = Ledger.of_seed()
    shop = FakeShop(ledger)
    refused = _case({"quantity": 3}, sku="TF-0001")
    ledger.record("t", "POST", "/api/stock/{sku}", refused, _answer(422))
    shop.stock_totals["TF-0001"] += 3
    shop.products["TF-0002"] = shop.products["TF-0002"] | {"name": "renamed"}
    wrong = ledger.verify(shop)
    assert any(line.startswith("stock of TF-0001") for line in wrong)
    assert any(line.startswith("product TF-0002 is") for line in wrong)


def test_an_order_of_a_refused_request_is_found():
    ledger = Ledger.of_seed()
    shop = FakeShop(ledger)
    body = {"email": "ada@example.com", "payment_token": "tok_visa", "lines": []}
    ledger.record("t", "POST", "/api/orders", _case(body), _answer(422))
    shop.orders["ada@example.com"] = ["ord_x"]
    assert any(line.startswith("orders of 'ada@example.com'") for line in ledger.verify(shop))


def test_a_value_changed_on_the_way_is_found():
    ledger = Ledger.of_seed()
    shop = FakeShop(ledger)
    sent = PRODUCT | {"name": " n "}
    ledger.record("t", "POST", "/api/products", _case(sent), _answer(201, PRODUCT))
    shop.products["NEW-1"] = PRODUCT
    assert ledger.verify(shop) == ["POST /api/products sent name=' n ', stored 'n'"]
