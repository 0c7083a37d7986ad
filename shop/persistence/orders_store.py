"""Order rows <-> Order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from shop.domain.orders import Order, OrderLine, OrderStatus
from shop.persistence.database import as_utc
from shop.persistence.tables import order_lines, order_rows


class OrderStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def add(self, order: Order, claimed_until: datetime | None = None) -> None:
        self.session.execute(
            insert(order_rows).values(
                id=order.id,
                email=order.email,
                payment_token=order.payment_token,
                currency=order.currency,
                total_cents=order.total_cents,
                status=str(order.status),
                reason=order.reason,
                notified=order.notified,
                created_at=order.created_at,
                updated_at=order.updated_at,
                claimed_until=claimed_until,
            )
        )
        self.session.execute(
            insert(order_lines),
            [
                {
                    "order_id": order.id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                }
                for line in order.lines
            ],
        )

    def get(self, order_id: str, for_update: bool = False) -> Order | None:
        query = select(order_rows).where(order_rows.c.id == order_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        return self._load([row])[0] if row else None

    def by_email(self, email: str) -> list[Order]:
        rows = self.session.execute(
            select(order_rows)
            .where(order_rows.c.email == email)
            .order_by(order_rows.c.created_at, order_rows.c.id)
        ).all()
        return self._load(rows)

    def pending_before(self, moment: datetime, limit: int = 100) -> list[Order]:
        rows = self.session.execute(
            select(order_rows)
            .where(order_rows.c.status == str(OrderStatus.PENDING))
            .where(order_rows.c.created_at < moment)
            .order_by(order_rows.c.created_at)
            .limit(limit)
        ).all()
        return self._load(rows)

    def finish(self, order: Order) -> bool:
        """pending -> the order's final status, only if still pending: True if this call did it."""
        result = self.session.execute(
            update(order_rows)
            .where(order_rows.c.id == order.id)
            .where(order_rows.c.status == str(OrderStatus.PENDING))
            .values(
                status=str(order.status),
                reason=order.reason,
                notified=order.notified,
                updated_at=order.updated_at,
            )
        )
        return result.rowcount == 1

    def mark_notified(self, order_id: str) -> None:
        """The customer was told: nothing is left to do for the order, so its claim ends too."""
        self.session.execute(
            update(order_rows)
            .where(order_rows.c.id == order_id)
            .where(order_rows.c.status != str(OrderStatus.PENDING))
            .values(notified=True, claimed_until=None)
        )

    def delete(self, order_id: str) -> None:
        self.session.execute(delete(order_lines).where(order_lines.c.order_id == order_id))
        self.session.execute(delete(order_rows).where(order_rows.c.id == order_id))

    def _load(self, rows) -> list[Order]:
        if not rows:
            return []
        lines: dict[str, list[OrderLine]] = {row.id: [] for row in rows}
        for line in self.session.execute(
            select(order_lines)
            .where(order_lines.c.order_id.in_(list(lines)))
            .order_by(order_lines.c.sku)
        ):
            lines[line.order_id].append(OrderLine(line.sku, line.quantity, line.unit_price_cents))
        return [
            Order(
                id=row.id,
                email=row.email,
                payment_token=row.payment_token,
                currency=row.currency,
                lines=lines[row.id],
                status=OrderStatus(row.status),
                reason=row.reason,
                notified=row.notified,
                created_at=as_utc(row.created_at),
                updated_at=as_utc(row.updated_at),
            )
            for row in rows
        ]
