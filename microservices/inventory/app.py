"""The inventory service: stock levels, and the reservations the saga asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI
from sqlalchemy import Connection

from microservices.common.deps import Admin, ReadSessionDep, WriteSessionDep, json_body
from microservices.common.messages import ReservationOut, ReserveIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.domain.inventory import Reservation
from shop.problems import Problem
from shop.schemas import RestockIn, StockOut
from shop.usecases import inventory

public = APIRouter(prefix="/api/stock", tags=["inventory"])
internal = APIRouter(prefix="/internal", tags=["internal"])


@public.get("/{sku}")
def get_stock(sku: str, session: ReadSessionDep) -> StockOut:
    return StockOut.of(inventory.get_stock(session, sku))


@public.post("/{sku}", dependencies=[Admin])
def restock(
    sku: str, body: Annotated[RestockIn, json_body(RestockIn)], session: WriteSessionDep
) -> StockOut:
    return StockOut.of(inventory.restock(session, sku, body.quantity))


@internal.post("/stock/{sku}/track")
def track(sku: str, session: WriteSessionDep) -> StockOut:
    return StockOut.of(inventory.track(session, sku))


@internal.post("/reservations")
def reserve(
    body: Annotated[ReserveIn, json_body(ReserveIn)], session: WriteSessionDep
) -> ReservationOut:
    """Hold all lines or none; the order id is the idempotency key."""
    return ReservationOut.of(inventory.reserve(session, body.order_id, body.lines))


@internal.post("/reservations/{order_id}/release")
def release(order_id: str, session: WriteSessionDep) -> ReservationOut:
    """Compensation: give back what the order holds (again: no change)."""
    return _settle(session, order_id, inventory.release)


@internal.post("/reservations/{order_id}/commit")
def commit(order_id: str, session: WriteSessionDep) -> ReservationOut:
    """The order is confirmed: its held units become sold (again: no change)."""
    return _settle(session, order_id, inventory.commit)


def _settle(
    session: Connection, order_id: str, use_case: Callable[[Connection, str], Reservation | None]
) -> ReservationOut:
    reservation = use_case(session, order_id)
    if reservation is None:
        raise Problem("not-found", f"no reservation for order {order_id}")
    return ReservationOut.of(reservation)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service("inventory", settings or ServiceSettings(), [public, internal])
