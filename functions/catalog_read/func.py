"""catalog-read: the catalog's public reads, and prices for place-order."""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.messages import ProductList
from shop.schemas import ProductOut, ProductPage, ProductQuery
from shop.usecases import catalog
from shop.web.asgi import json_response

SKU = r"/api/products/(?P<sku>[^/]+)"


class CatalogRead(HttpFunction):
    name = "catalog-read"
    contexts = ("catalog",)
    routes = [
        ("GET", r"/api/products", "list_products"),
        ("GET", SKU, "get_product"),
        ("GET", r"/internal/products", "products_by_sku"),
    ]

    async def list_products(self, request: Request):
        params = self.query(request, ProductQuery)
        items, total = await self.run(self._search, params)
        page = ProductPage(
            items=[ProductOut.of(p) for p in items],
            page=params.page,
            per_page=params.per_page,
            total=total,
        )
        return json_response(page)

    def _search(self, params: ProductQuery):
        with self.databases["catalog"].reading() as session:
            return catalog.list_products(session, params.q, params.page, params.per_page)

    async def get_product(self, request: Request, sku: str):
        return json_response(ProductOut.of(await self.run(self._get, sku)))

    def _get(self, sku: str):
        with self.databases["catalog"].reading() as session:
            return catalog.get_product(session, sku)

    async def products_by_sku(self, request: Request):
        """The products among ?sku=A&sku=B (never routed by the gateway)."""
        found = await self.run(self._many, request.query_params.getlist("sku"))
        return json_response(ProductList(items=[ProductOut.of(p) for p in found.values()]))

    def _many(self, skus: list[str]):
        with self.databases["catalog"].reading() as session:
            return catalog.products_for(session, skus)


def new() -> CatalogRead:
    return CatalogRead()
