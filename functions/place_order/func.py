"""place-order: the saga's first step. Price, save the order pending, publish shop.order.placed.

Answers 202 with the pending order at once; the events finish it. If the
publication fails after the order was saved, the order stays pending and the
re-drive (redrive_orders) publishes it again: an order is never lost between
the write and the event.
"""

from __future__ import annotations

from functools import partial

import httpx
from starlette.requests import Request

from functions.runtime import saga_events
from functions.runtime.event_payloads import placed_event
from functions.runtime.http_function import HttpFunction
from shop.domain.catalog import Product
from shop.domain.orders import Order, price_order
from shop.messages import ProductList
from shop.problems import Problem
from shop.schemas import OrderIn, OrderOut
from shop.telemetry import metrics
from shop.telemetry.tracing import ORDER_ID, traced_client, tracer
from shop.usecases import idempotency, orders
from shop.usecases.idempotency import RequestKey
from shop.web.asgi import json_response


class PlaceOrder(HttpFunction):
    name = "place-order"
    contexts = ("orders",)
    routes = [("POST", r"/api/orders", "place")]

    def start(self, environ=None) -> None:
        super().start(environ)
        # Its calls (the catalog, the broker) are client spans that carry `traceparent`.
        self.http = traced_client(httpx.Client(timeout=self.settings.call_timeout))

    def stop(self) -> None:
        self.http.close()
        super().stop()

    async def place(self, request: Request):
        key = idempotency.parse_key(request.headers.getlist(idempotency.HEADER))
        body = await self.body(request, OrderIn)
        request_key = idempotency.for_request(key, body, self.settings.idempotency_key_ttl)
        database = self.databases["orders"]
        place = partial(self._place, body, request_key)
        order = await self.run(idempotency.place_once, database, request_key, place)
        return json_response(OrderOut.of(order), 202, {"Location": f"/api/orders/{order.id}"})

    def _place(self, body: OrderIn, key: RequestKey | None) -> Order:
        # The order's id exists once it is priced: the spans get it then.
        with tracer().start_as_current_span("place order") as placing:
            requested = body.requested()
            with tracer().start_as_current_span("price lines") as pricing:
                products = self._prices([sku for sku, _ in requested])
                order = price_order(body.email, body.payment_token, requested, products)
                pricing.set_attribute(ORDER_ID, order.id)
            placing.set_attribute(ORDER_ID, order.id)
            with self.databases["orders"].writing() as session:
                orders.add(session, order)
                idempotency.remember(session, key, order.id)  # with the order, before publishing
            metrics.ORDERS_PLACED.inc()
            self.log.info("order %s placed, pending", order.id)
            try:
                event = placed_event(order, self.name)  # carries this span's traceparent
                saga_events.publish(self.http, self.settings.k_sink, event)
            except httpx.HTTPError as error:
                self.log.warning(
                    "order %s saved, not published (%s): the re-drive will", order.id, error
                )
        return order

    def _prices(self, skus: list[str]) -> dict[str, Product]:
        try:
            answer = self.http.get(
                self.settings.catalog_url + "/internal/products", params={"sku": skus}
            )
            answer.raise_for_status()
        except httpx.HTTPError as error:
            raise Problem("service-unavailable", f"the catalog is unavailable ({error})") from None
        return ProductList.model_validate(answer.json()).by_sku()


def new() -> PlaceOrder:
    return PlaceOrder()
