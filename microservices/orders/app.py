"""The orders service: places orders (the saga) and answers what became of them."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from microservices.common.http import Admin, json_body, json_response, query
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from microservices.orders import saga
from microservices.orders.peers import Peers
from microservices.orders.redrive import Redriver
from shop.schemas import EmailQuery, OrderIn, OrderList, OrderOut
from shop.usecases import idempotency, orders

public = APIRouter(prefix="/api/orders", tags=["orders"])


def _idempotency_key(request: Request) -> str | None:
    return idempotency.parse_key(request.headers.getlist(idempotency.HEADER))


@public.post("")
def place_order(
    request: Request,
    key: Annotated[str | None, Depends(_idempotency_key)],  # checked before the body
    body: Annotated[OrderIn, json_body(OrderIn)],
):
    state = request.app.state
    request_key = idempotency.for_request(key, body, state.settings.idempotency_key_ttl)
    order = idempotency.place_once(
        state.database,
        request_key,
        partial(saga.place, state.database, state.peers, body, state.saga_lease, request_key),
    )
    return json_response(OrderOut.of(order), 202, {"Location": f"/api/orders/{order.id}"})


@public.get("/{order_id}")
def get_order(request: Request, order_id: str):
    with request.app.state.database.reading() as session:
        return json_response(OrderOut.of(orders.get(session, order_id)))


@public.get("", dependencies=[Admin])
def list_orders(request: Request, params: Annotated[EmailQuery, query(EmailQuery)]):
    with request.app.state.database.reading() as session:
        found = orders.by_email(session, params.email)
    return json_response(OrderList(items=[OrderOut.of(o) for o in found]))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    def start(app: FastAPI) -> None:
        app.state.peers = Peers.from_settings(settings)
        app.state.saga_lease = settings.saga_lease
        app.state.redriver = Redriver(
            app.state.database,
            app.state.peers,
            settings.redrive_interval,
            settings.redrive_after,
            settings.saga_lease,
        )
        app.state.redriver.start()

    def stop(app: FastAPI) -> None:
        app.state.redriver.stop()
        app.state.peers.close()

    return build_service("orders", settings, [public], start, stop)
