"""stock-read: a product's stock level."""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.schemas import StockOut
from shop.usecases import inventory
from shop.web.asgi import json_response


class StockRead(HttpFunction):
    name = "stock-read"
    contexts = ("inventory",)
    routes = [("GET", r"/api/stock/(?P<sku>[^/]+)", "get_stock")]

    async def get_stock(self, request: Request, sku: str):
        return json_response(StockOut.of(await self.run(self._get, sku)))

    def _get(self, sku: str):
        with self.databases["inventory"].reading() as session:
            return inventory.get_stock(session, sku)


def new() -> StockRead:
    return StockRead()
