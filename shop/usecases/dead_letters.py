"""Dead letters: the saga's events the broker gave up delivering, kept for people to read.

A dead letter needs no action of its own: the re-drive finishes the order it
concerns (shop.usecases.orders.stuck, shop.usecases.followups). It is kept so an
operator can see what failed, where and with which answer.
"""

from __future__ import annotations

from sqlalchemy import Connection

from shop.persistence.dead_letter_store import DeadLetter, DeadLetterStore

MAX_LISTED = 500


def record(session: Connection, letter: DeadLetter) -> bool:
    """Keep `letter`; False when the same event's failure at the same place was kept already."""
    return DeadLetterStore(session).add(letter)


def newest(session: Connection, limit: int = 100) -> list[DeadLetter]:
    """The newest dead letters first, at most `limit` (capped at MAX_LISTED)."""
    return DeadLetterStore(session).newest(min(limit, MAX_LISTED))
