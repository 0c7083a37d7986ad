"""A context's inbox: which events a consumer has processed, and what it replied.

Rows are kept for a retention (INBOX_RETENTION_DAYS), then pruned in bounded
batches. Deduplication needs a row only while the event can still be delivered
again (the broker's retries, a re-drive); past that, every step is idempotent by
the order id as well, so a very late duplicate still changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, tuple_

from shop.persistence.tables import INBOXES

_NOT_SEEN = object()


class InboxStore:
    def __init__(self, session: Connection, context: str) -> None:
        self.session = session
        self.table = INBOXES[context]

    def reply_to(self, consumer: str, event_id: str, lock: bool = True):
        """The stored reply (a JSON string or None) if the event was processed, else NOT_SEEN."""
        query = select(self.table.c.reply).where(
            self.table.c.consumer == consumer, self.table.c.event_id == event_id
        )
        row = self.session.execute(query.with_for_update() if lock else query).first()
        return _NOT_SEEN if row is None else row.reply

    def record(self, consumer: str, event_id: str, reply: str | None) -> None:
        self.session.execute(
            insert(self.table).values(
                consumer=consumer, event_id=event_id, reply=reply, received_at=datetime.now(UTC)
            )
        )

    def prune(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` rows received before `before`, oldest first; how many."""
        table = self.table
        oldest = (
            select(table.c.consumer, table.c.event_id)
            .where(table.c.received_at < before)
            .order_by(table.c.received_at)
            .limit(limit)
        )
        keys = tuple_(table.c.consumer, table.c.event_id)
        return self.session.execute(delete(table).where(keys.in_(oldest))).rowcount


NOT_SEEN = _NOT_SEEN
