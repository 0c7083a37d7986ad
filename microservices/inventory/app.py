"""The inventory service: stock levels, and the reservations the saga asks for.

A reservation's change is counted (STOCK_RESERVATIONS) once its transaction has
committed, and only when the call made it: the saga's retries are answered again
unchanged and not counted twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI
from sqlalchemy import Connection

from microservices.common.deps import (
    Admin,
    DatabaseDep,
    ReadSessionDep,
    WriteSessionDep,
    json_body,
)
from microservices.common.messages import ReservationOut, ReserveIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.domain.inventory import Reservation, ReservationStatus
from shop.persistence.database import Database
from shop.problems import Problem
from shop.schemas import RestockIn, StockOut
from shop.telemetry import metrics
from shop.telemetry.tracing import mark_order
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
    body: Annotated[ReserveIn, json_body(ReserveIn)], database: DatabaseDep
) -> ReservationOut:
    """Hold all lines or none; the order id is the idempotency key."""
    mark_order(body.order_id)
    with database.writing() as session:
        reservation, made = inventory.reserve_once(session, body.order_id, body.lines)
    if made:
        held = reservation.status is ReservationStatus.HELD
        metrics.STOCK_RESERVATIONS.labels("reserved" if held else "rejected").inc()
    return ReservationOut.of(reservation)


@internal.post("/reservations/{order_id}/release")
def release(order_id: str, database: DatabaseDep) -> ReservationOut:
    """Compensation: give back what the order holds (again: no change)."""
    return _settle(database, order_id, inventory.release_once, "released")


@internal.post("/reservations/{order_id}/commit")
def commit(order_id: str, database: DatabaseDep) -> ReservationOut:
    """The order is confirmed: its held units become sold (again: no change)."""
    return _settle(database, order_id, inventory.commit_once, "committed")


Settle = Callable[[Connection, str], tuple[Reservation | None, bool]]


def _settle(database: Database, order_id: str, use_case: Settle, result: str) -> ReservationOut:
    mark_order(order_id)
    with database.writing() as session:
        reservation, changed = use_case(session, order_id)
    if reservation is None:
        raise Problem("not-found", f"no reservation for order {order_id}")
    if changed:
        metrics.STOCK_RESERVATIONS.labels(result).inc()
    return ReservationOut.of(reservation)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return build_service("inventory", settings or ServiceSettings(), [public, internal])
