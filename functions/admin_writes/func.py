"""admin-writes: add and change products, restock. Rare calls, so one function for all.

It owns two databases: a new product is added by the shared rule
(shop/usecases/new_product.py), a transaction on inventory's database, then one
on the catalog's.
"""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.domain.catalog import Product
from shop.schemas import ProductIn, ProductOut, ProductUpdate, RestockIn, StockOut
from shop.usecases import catalog, inventory, new_product
from shop.web.asgi import json_response


class AdminWrites(HttpFunction):
    name = "admin-writes"
    contexts = ("catalog", "inventory")
    routes = [
        ("POST", r"/api/products", "create_product"),
        ("PUT", r"/api/products/(?P<sku>[^/]+)", "update_product"),
        ("POST", r"/api/stock/(?P<sku>[^/]+)", "restock"),
    ]

    async def create_product(self, request: Request):
        self.admin(request)
        product = (await self.body(request, ProductIn)).to_domain()
        await self.run(self._create, product)
        headers = {"Location": f"/api/products/{product.sku}"}
        return json_response(ProductOut.of(product), 201, headers)

    def _create(self, product: Product) -> None:
        new_product.add_product(product, self._keep_stock, self._record)

    def _keep_stock(self, sku: str) -> None:
        with self.databases["inventory"].writing() as session:
            inventory.track(session, sku)

    def _record(self, product: Product) -> None:
        with self.databases["catalog"].writing() as session:
            catalog.create_product(session, product)

    async def update_product(self, request: Request, sku: str):
        self.admin(request)
        product = (await self.body(request, ProductUpdate)).to_domain(sku)
        await self.run(self._update, product)
        return json_response(ProductOut.of(product))

    def _update(self, product: Product) -> None:
        with self.databases["catalog"].writing() as session:
            catalog.update_product(session, product)

    async def restock(self, request: Request, sku: str):
        self.admin(request)
        quantity = (await self.body(request, RestockIn)).quantity
        return json_response(StockOut.of(await self.run(self._restock, sku, quantity)))

    def _restock(self, sku: str, quantity: int):
        with self.databases["inventory"].writing() as session:
            return inventory.restock(session, sku, quantity)


def new() -> AdminWrites:
    return AdminWrites()
