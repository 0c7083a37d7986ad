"""The orders service: places orders (the saga) and answers what became of them."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response, status

from microservices.common.deps import (
    Admin,
    DatabaseDep,
    ReadSessionDep,
    SettingsDep,
    json_body,
    query,
)
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from microservices.orders import saga
from microservices.orders.peers import Peers
from microservices.orders.redrive import Redriver
from shop.schemas import EmailQuery, OrderIn, OrderList, OrderOut
from shop.usecases import idempotency, orders

public = APIRouter(prefix="/api/orders", tags=["orders"])


async def get_peers(request: Request) -> Peers:
    return request.app.state.peers


PeersDep = Annotated[Peers, Depends(get_peers)]


async def idempotency_key(request: Request) -> str | None:
    """The Idempotency-Key header, checked (and refused once too many) before the body."""
    return idempotency.parse_key(request.headers.getlist(idempotency.HEADER))


@public.post("", status_code=status.HTTP_202_ACCEPTED)
def place_order(
    database: DatabaseDep,
    peers: PeersDep,
    settings: SettingsDep,
    key: Annotated[str | None, Depends(idempotency_key)],
    body: Annotated[OrderIn, json_body(OrderIn)],
    response: Response,
) -> OrderOut:
    request_key = idempotency.for_request(key, body, settings.idempotency_key_ttl)
    order = idempotency.place_once(
        database,
        request_key,
        partial(saga.place, database, peers, body, settings.saga_lease, request_key),
    )
    response.headers["Location"] = f"/api/orders/{order.id}"
    return OrderOut.of(order)


@public.get("/{order_id}")
def get_order(order_id: str, session: ReadSessionDep) -> OrderOut:
    return OrderOut.of(orders.get(session, order_id))


@public.get("", dependencies=[Admin])
def list_orders(
    params: Annotated[EmailQuery, query(EmailQuery)], session: ReadSessionDep
) -> OrderList:
    return OrderList(items=[OrderOut.of(o) for o in orders.by_email(session, params.email)])


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    def start(app: FastAPI) -> None:
        app.state.peers = Peers.from_settings(settings)
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
