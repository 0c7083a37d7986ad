"""Inventory rows <-> StockLevel and Reservation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from shop.domain.inventory import Reservation, ReservationStatus, StockLevel
from shop.persistence.tables import reservations, stock_levels


def _level(row) -> StockLevel:
    return StockLevel(row.sku, row.available, row.reserved, row.sold)


class InventoryStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def level(self, sku: str) -> StockLevel | None:
        row = self.session.execute(select(stock_levels).where(stock_levels.c.sku == sku)).first()
        return _level(row) if row else None

    def levels_for_update(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        """Lock the rows in sku order (the same order everywhere, so no deadlock)."""
        query = (
            select(stock_levels)
            .where(stock_levels.c.sku.in_(sorted(skus)))
            .order_by(stock_levels.c.sku)
            .with_for_update()
        )
        return {row.sku: _level(row) for row in self.session.execute(query)}

    def add_level(self, level: StockLevel) -> None:
        self.session.execute(insert(stock_levels).values(**vars(level)))

    def save_levels(self, levels: Iterable[StockLevel]) -> None:
        for level in levels:
            self.session.execute(
                update(stock_levels)
                .where(stock_levels.c.sku == level.sku)
                .values(available=level.available, reserved=level.reserved, sold=level.sold)
            )

    def reservation(self, order_id: str, for_update: bool = False) -> Reservation | None:
        """The order's reservation; `for_update` locks its rows (in sku order) until commit."""
        query = (
            select(reservations)
            .where(reservations.c.order_id == order_id)
            .order_by(reservations.c.sku)
        )
        rows = self.session.execute(query.with_for_update() if for_update else query).all()
        if not rows:
            return None
        return Reservation(
            order_id,
            {row.sku: row.quantity for row in rows},
            ReservationStatus(rows[0].status),
            rows[0].reason,
        )

    def add_reservation(self, reservation: Reservation) -> None:
        now = datetime.now(UTC)
        self.session.execute(
            insert(reservations),
            [
                {
                    "order_id": reservation.order_id,
                    "sku": sku,
                    "quantity": quantity,
                    "status": str(reservation.status),
                    "reason": reservation.reason,
                    "created_at": now,
                }
                for sku, quantity in reservation.lines.items()
            ],
        )

    def save_reservation_status(self, reservation: Reservation) -> None:
        self.session.execute(
            update(reservations)
            .where(reservations.c.order_id == reservation.order_id)
            .values(status=str(reservation.status), reason=reservation.reason)
        )
