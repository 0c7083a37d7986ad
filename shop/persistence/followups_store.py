"""Follow-up rows <-> what a final order still owes, and who re-drives it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from shop.persistence.tables import order_followups as followups


class FollowUpStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def add(self, order_id: str, steps: Iterable[str], at: datetime) -> None:
        self.session.execute(
            insert(followups),
            [{"order_id": order_id, "step": step, "waiting_since": at} for step in steps],
        )

    def remove(self, order_id: str, step: str) -> bool:
        """Forget one owed step; False if it was not owed (already acknowledged)."""
        result = self.session.execute(
            delete(followups).where(followups.c.order_id == order_id, followups.c.step == step)
        )
        return result.rowcount > 0

    def owed(self, order_id: str) -> set[str]:
        rows = self.session.execute(
            select(followups.c.step).where(followups.c.order_id == order_id)
        ).scalars()
        return set(rows)

    def waiting_before(self, moment: datetime, limit: int) -> list[str]:
        """Ids of orders with a step waiting since before `moment`, longest first."""
        rows = self.session.execute(
            select(followups.c.order_id)
            .where(followups.c.waiting_since < moment)
            .group_by(followups.c.order_id)
            .order_by(func.min(followups.c.waiting_since))
            .limit(limit)
        ).scalars()
        return list(rows)

    def restart_wait(self, order_id: str, before: datetime, now: datetime) -> bool:
        """Claim an order's overdue steps: their wait starts again at `now`. A conditional
        write, so of two re-drives that saw the same rows only one gets True."""
        result = self.session.execute(
            update(followups)
            .where(followups.c.order_id == order_id, followups.c.waiting_since < before)
            .values(waiting_since=now)
        )
        return result.rowcount > 0
