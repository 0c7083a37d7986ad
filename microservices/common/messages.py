"""Bodies of the services' internal calls (under /internal, never routed by the gateway)
that only this stage has; the ones both split stages exchange are in shop/messages.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shop.domain.inventory import Reservation
from shop.domain.orders import MAX_ORDER_TOTAL_CENTS, Order
from shop.schemas import Currency, OrderOut, Sku

Amount = Annotated[int, Field(ge=1, le=MAX_ORDER_TOTAL_CENTS)]  # an order total, not a price


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReserveIn(_In):
    order_id: str
    lines: dict[Sku, Annotated[int, Field(ge=1)]]


class ReservationOut(BaseModel):
    order_id: str
    status: Literal["held", "rejected", "released", "committed"]
    lines: dict[str, int]
    reason: str | None

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationOut:
        return cls(
            order_id=reservation.order_id,
            status=reservation.status.value,
            lines=reservation.lines,
            reason=reservation.reason,
        )


class ChargeIn(_In):
    order_id: str
    amount_cents: Amount
    currency: Currency
    payment_token: str


class CancelIn(_In):
    amount_cents: Amount
    currency: Currency


class NotifyIn(_In):
    order: OrderOut

    def to_domain(self) -> Order:
        return self.order.to_domain()
