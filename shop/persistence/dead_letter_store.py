"""Dead-letter rows <-> DeadLetter: the events the broker gave up delivering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from shop.persistence.database import as_utc
from shop.persistence.tables import dead_letters as letters


@dataclass(frozen=True)
class DeadLetter:
    event_source: str
    event_id: str
    error_destination: str  # where delivery failed (knativeerrordest); "" if not said
    event_type: str
    subject: str | None
    error_code: int | None  # the last HTTP status (knativeerrorcode)
    error_data: str | None  # the start of the last answer, base64 (knativeerrordata)
    event: str  # the event as JSON
    received_at: datetime


class DeadLetterStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def add(self, letter: DeadLetter) -> bool:
        """Keep the letter; False if it was kept already (a dead letter delivered twice)."""
        try:
            # A savepoint, so only the repeated insert is undone.
            with self.session.begin_nested():
                self.session.execute(insert(letters).values(**vars(letter)))
        except IntegrityError:
            return False
        return True

    def newest(self, limit: int) -> list[DeadLetter]:
        rows = self.session.execute(
            select(letters).order_by(letters.c.received_at.desc()).limit(limit)
        ).all()
        return [
            DeadLetter(**{**row._asdict(), "received_at": as_utc(row.received_at)}) for row in rows
        ]
