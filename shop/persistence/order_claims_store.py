"""Claims on order rows: a lease (`claimed_until`) that one saga at a time holds.

Every statement is a single conditional UPDATE or a plain SELECT, the same on SQLite
and PostgreSQL, so a claim is taken and given back in short transactions and no
transaction stays open while its holder calls other services.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, or_, select, update

from shop.domain.orders import OrderStatus
from shop.persistence.tables import order_rows


def _free_at(now: datetime):
    return or_(order_rows.c.claimed_until.is_(None), order_rows.c.claimed_until < now)


def _stuck_at(pending_before: datetime, now: datetime):
    """Pending since before `pending_before`, and nobody holds it at `now`."""
    return and_(
        order_rows.c.status == str(OrderStatus.PENDING),
        order_rows.c.created_at < pending_before,
        _free_at(now),
    )


class OrderClaimStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def take(self, order_id: str, until: datetime, now: datetime) -> bool:
        """Claim an order with work left (not yet notified) that nobody holds at `now`."""
        result = self.session.execute(
            update(order_rows)
            .where(order_rows.c.id == order_id)
            .where(order_rows.c.notified.is_(False))
            .where(_free_at(now))
            .values(claimed_until=until)
        )
        return result.rowcount == 1

    def give_back(self, order_id: str, until: datetime) -> None:
        """End the claim taken until `until`; a claim someone else took since stays."""
        self.session.execute(
            update(order_rows)
            .where(order_rows.c.id == order_id)
            .where(order_rows.c.claimed_until == until)
            .values(claimed_until=None)
        )

    def due(self, pending_before: datetime, now: datetime, limit: int) -> list[str]:
        """Ids of unclaimed orders with work left: pending since before `pending_before`,
        or final but not notified; oldest first."""
        pending = order_rows.c.status == str(OrderStatus.PENDING)
        rows = self.session.execute(
            select(order_rows.c.id)
            .where(order_rows.c.notified.is_(False))
            .where(_free_at(now))
            .where(or_(and_(pending, order_rows.c.created_at < pending_before), ~pending))
            .order_by(order_rows.c.created_at)
            .limit(limit)
        )
        return [row.id for row in rows]

    def stuck(self, pending_before: datetime, now: datetime, limit: int) -> list[str]:
        """Ids of unclaimed orders pending since before `pending_before`; oldest first."""
        rows = self.session.execute(
            select(order_rows.c.id)
            .where(_stuck_at(pending_before, now))
            .order_by(order_rows.c.created_at)
            .limit(limit)
        )
        return [row.id for row in rows]

    def take_stuck(
        self, order_id: str, pending_before: datetime, until: datetime, now: datetime
    ) -> bool:
        """Claim an order until `until` if it is still pending, old enough and free at
        `now`: of two replicas that both read it as stuck, only one updates it."""
        result = self.session.execute(
            update(order_rows)
            .where(order_rows.c.id == order_id)
            .where(_stuck_at(pending_before, now))
            .values(claimed_until=until)
        )
        return result.rowcount == 1
