"""A small client of the public API for the black-box tests.

Every response it gets is checked against the OpenAPI document, so each test
also proves the stage speaks the documented contract.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.openapi_check import check_response

FINAL = {"confirmed", "rejected"}


class ShopClient:
    stage = ""  # which stage answers, when the suite started it
    log_file: Path | None = None  # where that stage's processes write their output

    def __init__(self, base_url: str, admin_token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.admin_token = admin_token
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        check_response(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    # --- set-up helpers (admin calls) -------------------------------------------------

    def new_product(self, stock: int = 10, price_cents: int = 1250) -> str:
        """A fresh product of this test's own, with `stock` units available."""
        sku = "T-" + secrets.token_hex(5).upper()
        body = {"sku": sku, "name": f"Test item {sku}", "price_cents": price_cents}
        created = self.post("/api/products", json=body, headers=self.admin)
        assert created.status_code == 201, created.text
        if stock:
            restocked = self.post(f"/api/stock/{sku}", json={"quantity": stock}, headers=self.admin)
            assert restocked.status_code == 200, restocked.text
        return sku

    def stock(self, sku: str) -> dict[str, int]:
        answer = self.get(f"/api/stock/{sku}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def orders_of(self, email: str) -> list[dict[str, Any]]:
        answer = self.get("/api/orders", params={"email": email}, headers=self.admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def payments_of(self, order_id: str) -> list[dict[str, Any]]:
        answer = self.get("/api/payments", params={"order_id": order_id}, headers=self.admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def notifications_of(self, email: str) -> list[dict[str, Any]]:
        answer = self.get("/api/notifications", params={"email": email}, headers=self.admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def place(self, email: str, lines: list[tuple[str, int]], token: str = "tok_visa"):
        body = {
            "email": email,
            "payment_token": token,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
        }
        return self.post("/api/orders", json=body)

    def wait_final(self, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll GET /api/orders/{id} until the status is final, as the design allows."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(f"/api/orders/{order_id}")
            assert answer.status_code == 200, answer.text
            order = answer.json()
            if order["status"] in FINAL:
                return order
            assert time.monotonic() < deadline, f"order {order_id} still {order['status']}"
            time.sleep(0.05)

    def place_and_wait(self, email: str, lines: list[tuple[str, int]], token: str = "tok_visa"):
        answer = self.place(email, lines, token)
        assert answer.status_code == 202, answer.text
        return self.wait_final(answer.json()["id"])


def new_email() -> str:
    return f"shopper-{secrets.token_hex(6)}@example.com"
