"""`make demo-orders`: start the monolith on the embedded default, seed it, place three orders.

One order is confirmed, one is rejected for lack of stock, one is rejected
because the card is declined. For each, the demo prints what the shop
recorded: the order, its payment, the customer's notification and the stock
before and after. Everything is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import httpx

from shop.domain.orders import MAX_QUANTITY
from stages.definitions import StageOptions
from stages.launcher import FileSink, LaunchError
from stages.running import running_stage

ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - the demo's own throwaway token
FINAL = {"confirmed", "rejected"}


def _step(text: str) -> None:
    print(f"==> {text}", flush=True)


class Shop:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def stock(self, sku: str) -> dict:
        return self.http.get(f"/api/stock/{sku}").raise_for_status().json()

    def order(self, sku: str, quantity: int, token: str) -> dict:
        body = {
            "email": "ada@example.com",
            "payment_token": token,
            "lines": [{"sku": sku, "quantity": quantity}],
        }
        answer = self.http.post("/api/orders", json=body)
        answer.raise_for_status()
        order = answer.json()
        deadline = time.monotonic() + 30
        while order["status"] not in FINAL and time.monotonic() < deadline:
            time.sleep(0.1)
            order = self.http.get(f"/api/orders/{order['id']}").raise_for_status().json()
        return order

    def payment(self, order_id: str) -> str:
        found = self.http.get("/api/payments", params={"order_id": order_id}, headers=self.admin)
        items = found.raise_for_status().json()["items"]
        return items[0]["status"] if items else "none"

    def notification(self, order_id: str) -> str:
        found = self.http.get(
            "/api/notifications", params={"email": "ada@example.com"}, headers=self.admin
        )
        for item in found.raise_for_status().json()["items"]:
            if item["order_id"] == order_id:
                return item["subject"]
        return "none"

    def scarce_sku(self, skip: set[str]) -> tuple[str, int]:
        """A seeded product with fewer units than one order may ask for."""
        products = self.http.get("/api/products", params={"per_page": 100}).json()["items"]
        for product in (p for p in products if p["sku"] not in skip):
            available = self.stock(product["sku"])["available"]
            if 0 < available < MAX_QUANTITY:
                return product["sku"], available
        raise RuntimeError("the seeded catalog has no product with little stock")


def _show(title: str, shop: Shop, sku: str, quantity: int, token: str) -> dict:
    before = shop.stock(sku)["available"]
    order = shop.order(sku, quantity, token)
    after = shop.stock(sku)
    print(f"\n  {title}")
    print(f"    order        {order['id']}: {quantity} x {sku}, token {token}")
    print(
        f"    status       {order['status']}" + (f" ({order['reason']})" if order["reason"] else "")
    )
    print(f"    total        {order['currency']} {order['total_cents'] / 100:.2f}")
    print(f"    payment      {shop.payment(order['id'])}")
    print(f"    notification {shop.notification(order['id'])}")
    print(f"    stock        available {before} -> {after['available']}, sold {after['sold']}")
    return order


def run(data_dir: Path, port: int) -> int:
    shutil.rmtree(data_dir, ignore_errors=True)
    log = data_dir / "stage.log"
    options = StageOptions(port=port, data_dir=data_dir, env={"ADMIN_TOKEN": ADMIN_TOKEN})
    _step(f"starting the monolith on SQLite in {data_dir}/ (logs: {log})")
    started = time.monotonic()
    with running_stage("monolith", options, sink=FileSink(log)) as stage:
        _step(f"ready and seeded at {stage.url} in {time.monotonic() - started:.1f}s")
        shop = Shop(stage.url)
        scarce, available = shop.scarce_sku(skip={"TF-0001", "TF-0003"})
        _step("placing three orders")
        outcomes = [
            _show("1. a paid order", shop, "TF-0001", 2, "tok_visa"),
            _show("2. more than is in stock", shop, scarce, available + 1, "tok_visa"),
            _show("3. a declined card", shop, "TF-0003", 1, "tok_decline"),
        ]
        shop.http.close()
        _step("stopping the monolith")
    expected = [("confirmed", None), ("rejected", "out_of_stock"), ("rejected", "payment_declined")]
    got = [(o["status"], o["reason"]) for o in outcomes]
    if got != expected:
        print(f"unexpected outcomes: {got}", file=sys.stderr)
        return 1
    _step("done: one confirmed, one out of stock, one declined; all processes stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--port", type=int, default=0, help="default (0): any free port")
    args = parser.parse_args(argv)
    try:
        return run(args.data_dir, args.port)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: everything was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
