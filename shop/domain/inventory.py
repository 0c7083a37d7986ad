"""Stock per sku and the all-or-nothing reservation of an order's lines.

A unit of stock is in exactly one bucket: `available` (can be sold),
`reserved` (held for a pending order) or `sold`. Every movement keeps
available + reserved + sold equal to everything ever stocked, so no unit is
created or lost by the saga, whatever the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shop.domain.errors import InsufficientStock, InvalidQuantity

MAX_RESTOCK = 1_000_000


def _check_quantity(quantity: int, limit: int | None = None) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(f"quantity must be a positive whole number, got {quantity!r}")
    if limit is not None and quantity > limit:
        raise InvalidQuantity(f"quantity must be at most {limit}, got {quantity}")


@dataclass
class StockLevel:
    sku: str
    available: int = 0
    reserved: int = 0
    sold: int = 0

    @property
    def total(self) -> int:
        """Everything ever stocked: the invariant the saga must keep."""
        return self.available + self.reserved + self.sold

    def restock(self, quantity: int) -> None:
        _check_quantity(quantity, MAX_RESTOCK)
        self.available += quantity

    def can_reserve(self, quantity: int) -> bool:
        return self.available >= quantity

    def reserve(self, quantity: int) -> None:
        _check_quantity(quantity)
        if not self.can_reserve(quantity):
            raise InsufficientStock(f"{self.sku}: {quantity} wanted, {self.available} available")
        self.available -= quantity
        self.reserved += quantity

    def release(self, quantity: int) -> None:
        """Give held units back (the order was rejected after reserving)."""
        _check_quantity(quantity)
        if self.reserved < quantity:
            raise InsufficientStock(f"{self.sku}: cannot release {quantity}, {self.reserved} held")
        self.reserved -= quantity
        self.available += quantity

    def commit(self, quantity: int) -> None:
        """Held units become sold (the order was confirmed)."""
        _check_quantity(quantity)
        if self.reserved < quantity:
            raise InsufficientStock(f"{self.sku}: cannot sell {quantity}, {self.reserved} held")
        self.reserved -= quantity
        self.sold += quantity


class ReservationStatus(StrEnum):
    HELD = "held"
    REJECTED = "rejected"
    RELEASED = "released"
    COMMITTED = "committed"


@dataclass
class Reservation:
    """The stock held for one order: all its lines, or none of them."""

    order_id: str
    lines: dict[str, int]
    status: ReservationStatus
    reason: str | None = None


def reserve_all(order_id: str, levels: dict[str, StockLevel], lines: dict[str, int]) -> Reservation:
    """Reserve every line or none: if one sku is short, no level is touched.

    `levels` must hold a StockLevel for every sku in `lines`; a sku without a
    level has nothing available.
    """
    for quantity in lines.values():
        _check_quantity(quantity)
    short = [
        sku
        for sku, quantity in sorted(lines.items())
        if sku not in levels or not levels[sku].can_reserve(quantity)
    ]
    if short:
        return Reservation(
            order_id, dict(lines), ReservationStatus.REJECTED, "out of stock: " + ", ".join(short)
        )
    for sku, quantity in lines.items():
        levels[sku].reserve(quantity)
    return Reservation(order_id, dict(lines), ReservationStatus.HELD)


def release_all(reservation: Reservation, levels: dict[str, StockLevel]) -> None:
    """Compensation: give back every held line. A second call changes nothing."""
    if reservation.status is not ReservationStatus.HELD:
        return
    for sku, quantity in reservation.lines.items():
        levels[sku].release(quantity)
    reservation.status = ReservationStatus.RELEASED


def commit_all(reservation: Reservation, levels: dict[str, StockLevel]) -> None:
    """The order is confirmed: every held line is sold. A second call changes nothing."""
    if reservation.status is ReservationStatus.COMMITTED:
        return
    if reservation.status is not ReservationStatus.HELD:
        raise InsufficientStock(
            f"order {reservation.order_id}: reservation is {reservation.status}"
        )
    for sku, quantity in reservation.lines.items():
        levels[sku].commit(quantity)
    reservation.status = ReservationStatus.COMMITTED
