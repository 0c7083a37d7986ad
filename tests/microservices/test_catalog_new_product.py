"""The catalog service adds a product by the shared rule, never holding its database
while it waits for inventory (shop/usecases/new_product.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from microservices.catalog.app import create_app
from microservices.common.settings import ServiceSettings
from microservices.common.upstream import NotSent
from shop.persistence.migrate import upgrade

TOKEN = "catalog-test-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PRODUCT = {"sku": "NEW-0001", "name": "Teapot", "price_cents": 1500}


@dataclass
class FakeInventory:
    """Stands in for the inventory service; on each call it checks whether the catalog's
    SQLite file can be locked for writing by someone else at that moment."""

    catalog_file: Path
    down: bool = False
    calls: list[str] = field(default_factory=list)
    catalog_locked: list[bool] = field(default_factory=list)

    def call(self, method: str, path: str, **_kwargs) -> dict:
        self.calls.append(f"{method} {path}")
        self.catalog_locked.append(self._locked())
        if self.down:
            raise NotSent("inventory", "connection refused")
        return {}

    def _locked(self) -> bool:
        other = sqlite3.connect(self.catalog_file, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if a writer holds the file
            other.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            other.close()

    def close(self) -> None:
        pass


def _run(tmp_path: Path, scenario: Callable[[httpx.AsyncClient, FakeInventory], Awaitable]):
    """Run `scenario` against the catalog service (its lifespan started) on a fresh database."""
    path = tmp_path / "catalog.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url, ["catalog"])
    app = create_app(ServiceSettings(database_url=url, admin_token=TOKEN))

    async def main() -> None:
        async with app.router.lifespan_context(app):
            app.state.inventory.close()
            app.state.inventory = inventory = FakeInventory(path)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
                await scenario(client, inventory)

    asyncio.run(main())


def test_inventory_is_asked_with_no_catalog_transaction_open(tmp_path):
    async def scenario(client: httpx.AsyncClient, inventory: FakeInventory) -> None:
        answer = await client.post("/api/products", json=PRODUCT, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        assert inventory.calls == ["POST /internal/stock/NEW-0001/track"]
        assert inventory.catalog_locked == [False]
        assert (await client.get("/api/products/NEW-0001")).status_code == 200

    _run(tmp_path, scenario)


def test_no_product_without_stock_and_a_retry_adds_it(tmp_path):
    async def scenario(client: httpx.AsyncClient, inventory: FakeInventory) -> None:
        inventory.down = True
        answer = await client.post("/api/products", json=PRODUCT, headers=ADMIN)
        assert answer.status_code == 503, answer.text
        # not added without its stock level
        assert (await client.get("/api/products/NEW-0001")).status_code == 404
        inventory.down = False
        for expected in (201, 409):
            answer = await client.post("/api/products", json=PRODUCT, headers=ADMIN)
            assert answer.status_code == expected, answer.text
        assert inventory.catalog_locked == [False, False, False]

    _run(tmp_path, scenario)
