"""Charge rows <-> Charge."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from shop.domain.payments import Charge, ChargeStatus
from shop.persistence.database import as_utc
from shop.persistence.tables import charges


def _charge(row) -> Charge:
    return Charge(
        row.id,
        row.order_id,
        row.amount_cents,
        row.currency,
        ChargeStatus(row.status),
        row.reason,
        as_utc(row.created_at),
    )


class PaymentStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def for_order(self, order_id: str, for_update: bool = False) -> Charge | None:
        query = select(charges).where(charges.c.order_id == order_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        return _charge(row) if row else None

    def save_status(self, charge: Charge) -> None:
        self.session.execute(
            update(charges)
            .where(charges.c.id == charge.id)
            .values(status=str(charge.status), reason=charge.reason)
        )

    def add(self, charge: Charge) -> None:
        values = vars(charge) | {"status": str(charge.status)}
        self.session.execute(insert(charges).values(**values))
