"""payment-read: the charges of an order (admin)."""

from __future__ import annotations

from starlette.requests import Request

from functions.runtime.http_function import HttpFunction
from shop.schemas import OrderIdQuery, PaymentList, PaymentOut
from shop.usecases import payments
from shop.web.asgi import json_response


class PaymentRead(HttpFunction):
    name = "payment-read"
    contexts = ("payments",)
    routes = [("GET", r"/api/payments", "list_payments")]

    async def list_payments(self, request: Request):
        self.admin(request)
        order_id = self.query(request, OrderIdQuery).order_id
        found = await self.run(self._for_order, order_id)
        return json_response(PaymentList(items=[PaymentOut.of(c) for c in found]))

    def _for_order(self, order_id: str):
        with self.databases["payments"].reading() as session:
            return payments.charges_for_order(session, order_id)


def new() -> PaymentRead:
    return PaymentRead()
