"""order-read: one order by its unguessable id; a customer's orders (admin)."""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.schemas import EmailQuery, OrderList, OrderOut
from shop.usecases import orders
from shop.web.asgi import json_response


class OrderRead(HttpFunction):
    name = "order-read"
    contexts = ("orders",)
    routes = [
        ("GET", r"/api/orders/(?P<order_id>[^/]+)", "get_order"),
        ("GET", r"/api/orders", "list_orders"),
    ]

    async def get_order(self, request: Request, order_id: str):
        return json_response(OrderOut.of(await self.run(self._get, order_id)))

    def _get(self, order_id: str):
        with self.databases["orders"].reading() as session:
            return orders.get(session, order_id)

    async def list_orders(self, request: Request):
        self.admin(request)
        email = self.query(request, EmailQuery).email
        found = await self.run(self._by_email, email)
        return json_response(OrderList(items=[OrderOut.of(o) for o in found]))

    def _by_email(self, email: str):
        with self.databases["orders"].reading() as session:
            return orders.by_email(session, email)


def new() -> OrderRead:
    return OrderRead()
