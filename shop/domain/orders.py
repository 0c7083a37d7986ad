"""Orders, their lines and the order state machine.

    pending --confirm--> confirmed
    pending --reject---> rejected

`confirmed` and `rejected` are final. Repeating the transition that made an
order final is a no-op (a redelivered event or a retried call must not fail);
any other change of a final order is refused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from shop.domain.catalog import BLANK_OR_CONTROL, Product
from shop.domain.errors import InvalidOrder, InvalidTransition, UnknownSku
from shop.domain.money import MAX_SAFE_CENTS

MAX_LINES = 20
MAX_QUANTITY = 100
EMAIL_PATTERN = rf"^[^@{BLANK_OR_CONTROL}]{{1,64}}@[^@{BLANK_OR_CONTROL}]{{1,190}}\.[A-Za-z]{{2,}}$"
_EMAIL = re.compile(EMAIL_PATTERN)
ORDER_ID_PATTERN = r"^ord_[A-Za-z0-9_-]{22}$"
_ORDER_ID = re.compile(ORDER_ID_PATTERN)


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self is not OrderStatus.PENDING


class RejectReason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_FAILED = "payment_failed"


class PaymentOutcome(StrEnum):
    """What became of an order's charge, as far as the order cares (Order.settle)."""

    CAPTURED = "captured"
    DECLINED = "declined"
    FAILED = "failed"

    @classmethod
    def of(cls, charge_status: str) -> PaymentOutcome:
        """From a charge's status (ChargeStatus, or its value in a message): captured and
        declined as they are; any other (failed, or a charge still pending) is a failure."""
        if charge_status == cls.CAPTURED:
            return cls.CAPTURED
        if charge_status == cls.DECLINED:
            return cls.DECLINED
        return cls.FAILED


def new_order_id() -> str:
    """An unguessable id (128 random bits): knowing it is what lets a customer read the order."""
    return "ord_" + secrets.token_urlsafe(16)


def is_order_id(value: str) -> bool:
    return isinstance(value, str) and _ORDER_ID.fullmatch(value) is not None


def is_valid_email(value: str) -> bool:
    return isinstance(value, str) and len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def merge_lines(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Validate requested (sku, quantity) lines and merge duplicate skus.

    Two lines for the same sku are one line with the summed quantity, and the
    limits apply to the merged line: asking for 60 + 60 of one sku is 120.
    """
    merged: dict[str, int] = {}
    count = 0
    for sku, quantity in lines:
        count += 1
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidOrder(f"quantity of {sku} must be a whole number of at least 1")
        merged[sku] = merged.get(sku, 0) + quantity
    if count == 0:
        raise InvalidOrder("an order needs at least one line")
    if count > MAX_LINES:
        raise InvalidOrder(f"an order has at most {MAX_LINES} lines, got {count}")
    for sku, quantity in merged.items():
        if quantity > MAX_QUANTITY:
            raise InvalidOrder(f"at most {MAX_QUANTITY} units of {sku} per order, got {quantity}")
    return merged


# The largest possible total, checked once at import: the limits keep every total exact.
MAX_ORDER_TOTAL_CENTS = MAX_LINES * MAX_QUANTITY * 100_000_000
assert MAX_ORDER_TOTAL_CENTS <= MAX_SAFE_CENTS


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Order:
    id: str
    email: str
    payment_token: str
    currency: str
    lines: list[OrderLine]
    status: OrderStatus = OrderStatus.PENDING
    reason: str | None = None
    notified: bool = False  # the customer was told of the final status
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)

    @property
    def total_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def quantities(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}

    def confirm(self) -> None:
        self._move(OrderStatus.CONFIRMED, None)

    def reject(self, reason: RejectReason | str) -> None:
        self._move(OrderStatus.REJECTED, str(reason))

    def settle(self, outcome: PaymentOutcome) -> None:
        """Confirm a paid order; reject one whose charge was declined or failed."""
        if outcome is PaymentOutcome.CAPTURED:
            self.confirm()
        elif outcome is PaymentOutcome.DECLINED:
            self.reject(RejectReason.PAYMENT_DECLINED)
        elif outcome is PaymentOutcome.FAILED:
            self.reject(RejectReason.PAYMENT_FAILED)
        else:
            raise TypeError(f"settle takes a PaymentOutcome, not {outcome!r}")

    def _move(self, target: OrderStatus, reason: str | None) -> None:
        if self.status is target:
            return
        if self.status.is_final:
            raise InvalidTransition(f"order {self.id} is {self.status}, cannot become {target}")
        self.status = target
        self.reason = reason
        self.updated_at = _now()


def price_order(
    email: str,
    payment_token: str,
    requested: Iterable[tuple[str, int]],
    products: Mapping[str, Product],
    order_id: str | None = None,
) -> Order:
    """Make a pending order from requested lines and the catalog's current prices.

    Raises InvalidOrder for broken lines or mixed currencies and UnknownSku for
    skus missing from `products`.
    """
    if not is_valid_email(email):
        raise InvalidOrder("email is not a valid address")
    merged = merge_lines(requested)
    unknown = [sku for sku in merged if sku not in products]
    if unknown:
        raise UnknownSku(unknown)
    currencies = {products[sku].currency for sku in merged}
    if len(currencies) > 1:
        raise InvalidOrder("all lines of an order must have the same currency")
    lines = [OrderLine(sku, qty, products[sku].price_cents) for sku, qty in merged.items()]
    return Order(
        id=order_id or new_order_id(),
        email=email,
        payment_token=payment_token,
        currency=currencies.pop(),
        lines=lines,
    )
