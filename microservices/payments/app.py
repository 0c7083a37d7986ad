"""The payments service: charges against the simulated provider.

A charge is opened (pending) and committed before the provider is asked, and
the provider's answer is recorded in a second transaction; a caller that gave
up waiting cancels, and a late answer then changes nothing. A charge's outcome is
counted (PAYMENTS) once, after the transaction that made it final.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from microservices.common.deps import (
    Admin,
    DatabaseDep,
    ReadSessionDep,
    json_body,
    query,
)
from microservices.common.messages import CancelIn, ChargeIn
from microservices.common.service import build_service
from microservices.common.settings import ServiceSettings
from shop.domain.payments import SimulatedProvider
from shop.schemas import OrderIdQuery, PaymentList, PaymentOut
from shop.telemetry import metrics
from shop.telemetry.tracing import mark_order
from shop.usecases import payments

public = APIRouter(prefix="/api/payments", tags=["payments"])
internal = APIRouter(prefix="/internal/charges", tags=["internal"])


async def get_provider(request: Request) -> SimulatedProvider:
    return request.app.state.provider


ProviderDep = Annotated[SimulatedProvider, Depends(get_provider)]


@public.get("", dependencies=[Admin])
def list_payments(
    params: Annotated[OrderIdQuery, query(OrderIdQuery)], session: ReadSessionDep
) -> PaymentList:
    found = payments.charges_for_order(session, params.order_id)
    return PaymentList(items=[PaymentOut.of(c) for c in found])


@internal.post("")
def charge(
    database: DatabaseDep, provider: ProviderDep, body: Annotated[ChargeIn, json_body(ChargeIn)]
) -> PaymentOut:
    """Charge once per order id; asked again, answers the recorded (maybe pending) charge."""
    mark_order(body.order_id)
    with database.writing() as session:
        opened, is_new = payments.open_charge(
            session, body.order_id, body.amount_cents, body.currency
        )
    if not is_new:
        return PaymentOut.of(opened)
    decision = provider.decide(body.payment_token, body.amount_cents)
    with database.writing() as session:
        recorded, settled = payments.record_decision_once(session, body.order_id, decision)
    if settled:
        metrics.PAYMENTS.labels(str(recorded.status)).inc()
    return PaymentOut.of(recorded)


@internal.post("/{order_id}/cancel")
def cancel(
    order_id: str, body: Annotated[CancelIn, json_body(CancelIn)], database: DatabaseDep
) -> PaymentOut:
    """The caller gave up: a pending (or absent) charge becomes failed; a final one is answered."""
    mark_order(order_id)
    with database.writing() as session:
        charge, failed = payments.cancel_once(session, order_id, body.amount_cents, body.currency)
    if failed:
        metrics.PAYMENTS.labels(str(charge.status)).inc()
    return PaymentOut.of(charge)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    def start(app: FastAPI) -> None:
        app.state.provider = SimulatedProvider(settings.provider)

    return build_service("payments", settings, [public, internal], start)
