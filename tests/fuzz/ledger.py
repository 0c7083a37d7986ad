"""What the fuzzer's requests may have written, and the proof that nothing else was.

Every request of the run is recorded with its answer. Accepted writes say what the
shop must hold afterwards (products as last written, stock ever received, orders
per email); refused ones must have left no trace. `verify` reads the whole shop back
through the admin API and compares.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from shop.domain.catalog import SKU_PATTERN
from shop.schemas import MAX_PER_PAGE
from shop.seed import catalog
from tests.support.client import ShopClient

_SKU = re.compile(SKU_PATTERN)
_QUERYABLE_EMAIL = re.compile(r"^[^\x00-\x1f\x7f]{3,254}$")  # what GET /api/orders?email= takes


def _sku(value: Any) -> str | None:
    return value if isinstance(value, str) and _SKU.fullmatch(value) else None


def _whole(value: Any) -> bool:
    """A JSON whole number: 5 or 5.0 (not true, not "5")."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value % 1 == 0


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Ledger:
    seeded_products: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeded_stock: dict[str, int] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # as last accepted
    received: Counter[str] = field(default_factory=Counter)  # accepted restocks per sku
    orders: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refused_skus: set[str] = field(default_factory=set)  # named by a refused create/restock
    refused_emails: set[str] = field(default_factory=set)  # of refused orders
    odd: list[str] = field(default_factory=list)  # accepted writes that make no sense
    cases: Counter[str] = field(default_factory=Counter)  # requests per phase
    statuses: Counter[int] = field(default_factory=Counter)

    @classmethod
    def of_seed(cls) -> Ledger:
        ledger = cls()
        for product, stock in catalog():
            ledger.seeded_products[product.sku] = vars(product).copy()
            ledger.seeded_stock[product.sku] = stock
        return ledger

    def known(self, sku: str) -> dict[str, Any] | None:
        """The product as the shop must hold it now, if it exists."""
        return self.products.get(sku) or self.seeded_products.get(sku)

    def record(self, phase: str, method: str, path: str, case: Any, response: Any) -> None:
        """One request of the run (path is the documented template) and its answer."""
        self.cases[phase] += 1
        status = response.status_code
        self.statuses[status] += 1
        body = case.body if isinstance(case.body, dict) else {}
        answer = _json(response) if 200 <= status < 300 else None
        accepted = isinstance(answer, dict)
        if (method, path) in (("POST", "/api/products"), ("PUT", "/api/products/{sku}")):
            if accepted:
                self.products[answer["sku"]] = answer
                self._as_sent(f"{method} {path}", body, answer)
            elif method == "POST" and (sku := _sku(body.get("sku"))):
                self.refused_skus.add(sku)
        elif (method, path) == ("POST", "/api/stock/{sku}"):
            quantity = body.get("quantity")
            if accepted and _whole(quantity):
                self.received[answer["sku"]] += int(quantity)
            elif accepted:
                self.odd.append(f"restock of {answer['sku']} accepted with quantity {quantity!r}")
            elif sku := _sku(case.path_parameters.get("sku")):
                self.refused_skus.add(sku)
        elif (method, path) == ("POST", "/api/orders"):
            if accepted:
                self.orders[answer["email"]].add(answer["id"])
                self._as_sent(f"{method} {path}", {"email": body.get("email")}, answer)
            elif isinstance(email := body.get("email"), str) and _QUERYABLE_EMAIL.match(email):
                self.refused_emails.add(email)

    def _as_sent(self, what: str, sent: dict[str, Any], answer: dict[str, Any]) -> None:
        """An accepted write keeps what was sent: a value changed on the way is not the one
        the client asked for (and a changed one that its pattern refuses was not valid)."""
        for name, value in sent.items():
            if name in answer and answer[name] != value:
                self.odd.append(f"{what} sent {name}={value!r}, stored {answer[name]!r}")

    def summary(self) -> str:
        cases = ", ".join(f"{phase} {count}" for phase, count in sorted(self.cases.items()))
        statuses = " ".join(f"{s}x{n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{sum(self.cases.values())} cases ({cases}); answers {statuses}; "
            f"accepted writes: {len(self.products)} products created or changed, "
            f"{sum(self.received.values())} units restocked, "
            f"{sum(len(ids) for ids in self.orders.values())} orders"
        )

    def verify(self, shop: ShopClient) -> list[str]:
        """Everything the shop holds, against what the accepted requests made; the differences."""
        wrong = list(self.odd)
        held = _all_products(shop)
        expected = set(self.seeded_products) | set(self.products)
        for sku in sorted(set(held) - expected):
            wrong.append(f"product {sku} exists, but no accepted request created it")
        for sku in sorted(expected - set(held)):
            wrong.append(f"product {sku} was created, but is missing")
        for sku in sorted(set(held) & expected):
            if held[sku] != self.known(sku):
                wrong.append(f"product {sku} is {held[sku]}, last written {self.known(sku)}")
            level = shop.stock(sku)
            total = level["available"] + level["reserved"] + level["sold"]
            if total != self.seeded_stock.get(sku, 0) + self.received[sku]:
                wrong.append(
                    f"stock of {sku} totals {total}: seeded {self.seeded_stock.get(sku, 0)}"
                    f" + accepted restocks {self.received[sku]}"
                )
        for sku in sorted(self.refused_skus - expected):
            for path in (f"/api/products/{sku}", f"/api/stock/{sku}"):
                status = shop.get(path).status_code
                if status != 404:
                    wrong.append(f"{path} answers {status} after only refused writes")
        for email in sorted(set(self.orders) | self.refused_emails):
            ids = {o["id"] for o in shop.orders_of(email)}
            accepted = self.orders.get(email.strip(), set())
            if ids != accepted:
                wrong.append(f"orders of {email!r}: {sorted(ids)}, accepted {sorted(accepted)}")
        return wrong


def _all_products(shop: ShopClient) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        answer = shop.get("/api/products", params={"page": page, "per_page": MAX_PER_PAGE})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        found.update((item["sku"], item) for item in items)
        if len(items) < MAX_PER_PAGE:
            return found
        page += 1
