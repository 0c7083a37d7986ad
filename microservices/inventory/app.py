"""The inventory service: stock levels, and the reservations the saga asks for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Request, Response

from microservices.common.http import Admin, json_body, json_response
from microservices.common.messages import ReservationOut, ReserveIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.problems import Problem
from shop.schemas import RestockIn, StockOut
from shop.usecases import inventory

public = APIRouter(prefix="/api/stock", tags=["inventory"])
internal = APIRouter(prefix="/internal", tags=["internal"])


@public.get("/{sku}")
def get_stock(request: Request, sku: str):
    with request.app.state.database.reading() as session:
        return json_response(StockOut.of(inventory.get_stock(session, sku)))


@public.post("/{sku}", dependencies=[Admin])
def restock(request: Request, sku: str, body: Annotated[RestockIn, json_body(RestockIn)]):
    with request.app.state.database.writing() as session:
        return json_response(StockOut.of(inventory.restock(session, sku, body.quantity)))


@internal.post("/stock/{sku}/track")
def track(request: Request, sku: str):
    with request.app.state.database.writing() as session:
        return json_response(StockOut.of(inventory.track(session, sku)))


@internal.post("/reservations")
def reserve(request: Request, body: Annotated[ReserveIn, json_body(ReserveIn)]):
    """Hold all lines or none; the order id is the idempotency key."""
    with request.app.state.database.writing() as session:
        reservation = inventory.reserve(session, body.order_id, body.lines)
    return json_response(ReservationOut.of(reservation))


@internal.post("/reservations/{order_id}/release")
def release(request: Request, order_id: str):
    """Compensation: give back what the order holds (again: no change)."""
    return _settle(request, order_id, inventory.release)


@internal.post("/reservations/{order_id}/commit")
def commit(request: Request, order_id: str):
    """The order is confirmed: its held units become sold (again: no change)."""
    return _settle(request, order_id, inventory.commit)


def _settle(request: Request, order_id: str, use_case) -> Response:
    with request.app.state.database.writing() as session:
        reservation = use_case(session, order_id)
    if reservation is None:
        raise Problem("not-found", f"no reservation for order {order_id}")
    return json_response(ReservationOut.of(reservation))


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service("inventory", settings or ServiceSettings(), [public, internal])
