"""The orders service's view of the other services: one method per call the saga makes.

Calls that change state carry the order id as idempotency key, so they are
retried (bounded, with backoff) on failure; the charge is not retried on a
timeout, since waiting again is pointless: it is cancelled instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from microservices.common.settings import ServiceSettings
from microservices.common.upstream import Upstream
from shop.domain.catalog import Product
from shop.domain.orders import Order
from shop.messages import ProductList
from shop.problems import Problem
from shop.schemas import OrderOut


@dataclass
class Peers:
    catalog: Upstream
    inventory: Upstream
    payments: Upstream
    notifications: Upstream
    payment_timeout: float

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Peers:
        def peer(name: str, url: str) -> Upstream:
            return Upstream(name, url, settings.connect_timeout, settings.call_timeout)

        return cls(
            catalog=peer("catalog", settings.catalog_url),
            inventory=peer("inventory", settings.inventory_url),
            payments=peer("payments", settings.payments_url),
            notifications=peer("notifications", settings.notifications_url),
            payment_timeout=settings.payment_timeout,
        )

    def close(self) -> None:
        for upstream in (self.catalog, self.inventory, self.payments, self.notifications):
            upstream.close()

    def products(self, skus: list[str]) -> dict[str, Product]:
        found = self.catalog.call(
            "GET", "/internal/products", params={"sku": skus}, idempotent=True
        )
        return ProductList.model_validate(found).by_sku()

    def reserve(self, order: Order) -> str:
        """held / rejected / released / committed: the reservation's state after the call."""
        body = {"order_id": order.id, "lines": order.quantities}
        return self.inventory.call("POST", "/internal/reservations", json=body, idempotent=True)[
            "status"
        ]

    def release(self, order_id: str) -> None:
        self._settle_stock(order_id, "release")

    def commit(self, order_id: str) -> None:
        self._settle_stock(order_id, "commit")

    def _settle_stock(self, order_id: str, action: str) -> None:
        try:
            self.inventory.call(
                "POST", f"/internal/reservations/{order_id}/{action}", idempotent=True
            )
        except Problem as problem:
            if problem.status != 404:  # no reservation: nothing to give back or sell
                raise

    def charge(self, order: Order) -> str:
        """captured / declined / failed, or pending (another call for the order is under way)."""
        body = {
            "order_id": order.id,
            "amount_cents": order.total_cents,
            "currency": order.currency,
            "payment_token": order.payment_token,
        }
        return self.payments.call(
            "POST", "/internal/charges", json=body, timeout=self.payment_timeout
        )["status"]

    def cancel_charge(self, order: Order) -> str:
        body = {"amount_cents": order.total_cents, "currency": order.currency}
        return self.payments.call(
            "POST", f"/internal/charges/{order.id}/cancel", json=body, idempotent=True
        )["status"]

    def notify(self, order: Order) -> None:
        body = {"order": OrderOut.of(order).model_dump(mode="json")}
        self.notifications.call("POST", "/internal/notifications", json=body, idempotent=True)
