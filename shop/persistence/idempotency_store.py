"""Idempotency-Key rows: which request a key came with, and the order it placed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from shop.persistence.database import as_utc
from shop.persistence.tables import idempotency_keys as keys


class KeyTaken(Exception):
    """Another transaction wrote this key first (the unique key said so)."""


@dataclass(frozen=True)
class KeyRecord:
    key: str
    fingerprint: str
    order_id: str
    created_at: datetime


class IdempotencyStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def get(self, key: str) -> KeyRecord | None:
        row = self.session.execute(select(keys).where(keys.c.key == key)).first()
        if row is None:
            return None
        return KeyRecord(row.key, row.fingerprint, row.order_id, as_utc(row.created_at))

    def add(self, record: KeyRecord) -> None:
        """Insert the key; KeyTaken if it exists. On PostgreSQL an insert of a key another
        open transaction has just written waits for that transaction to end first."""
        try:
            # A savepoint, so only the failed insert is undone and the caller decides.
            with self.session.begin_nested():
                self.session.execute(insert(keys).values(**vars(record)))
        except IntegrityError:
            raise KeyTaken(record.key) from None

    def delete(self, key: str, order_id: str | None = None, before: datetime | None = None) -> int:
        """Delete `key` (only if it names `order_id`, or was written before `before`)."""
        query = delete(keys).where(keys.c.key == key)
        if order_id is not None:
            query = query.where(keys.c.order_id == order_id)
        if before is not None:
            query = query.where(keys.c.created_at < before)
        return self.session.execute(query).rowcount

    def delete_expired(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` keys written before `before`. Rows another transaction
        holds are skipped (PostgreSQL), so this never waits; a later write takes them."""
        expired = (
            select(keys.c.key)
            .where(keys.c.created_at < before)
            .order_by(keys.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        found = list(self.session.execute(expired).scalars())
        if not found:
            return 0
        return self.session.execute(delete(keys).where(keys.c.key.in_(found))).rowcount
