"""Inbox retention: rows past it are pruned in bounded batches, recent rows are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from functions.commit_stock.func import new
from shop.persistence.inbox_store import InboxStore
from shop.persistence.tables import INBOXES

DAY = timedelta(days=1)


def _fill(database, context: str, ages: list[timedelta]) -> list[str]:
    """One inbox row per age, received that long ago; their event ids."""
    now, ids = datetime.now(UTC), [f"evt-{n}" for n in range(len(ages))]
    with database.writing() as session:
        session.execute(
            insert(INBOXES[context]),
            [
                {"consumer": "c", "event_id": i, "reply": None, "received_at": now - age}
                for i, age in zip(ids, ages, strict=True)
            ],
        )
    return ids


def _kept(database, context: str) -> set[str]:
    with database.reading() as session:
        return set(session.execute(select(INBOXES[context].c.event_id)).scalars())


@pytest.mark.parametrize("context", sorted(INBOXES))
def test_prune_deletes_the_oldest_rows_past_the_retention_in_batches(database, context):
    ids = _fill(database, context, [10 * DAY, 9 * DAY, 8 * DAY, 7 * DAY + DAY / 2, 6 * DAY])
    before = datetime.now(UTC) - 7 * DAY

    def prune(limit: int) -> int:
        with database.writing() as session:
            return InboxStore(session, context).prune(before, limit)

    assert prune(2) == 2
    assert _kept(database, context) == set(ids[2:])  # the two oldest went first
    assert prune(2) == 2
    assert prune(2) == 0
    assert _kept(database, context) == {ids[4]}  # 6 days old: within the retention


def test_an_event_function_prunes_its_inbox_by_its_settings(database, database_url, monkeypatch):
    monkeypatch.setenv("INVENTORY_DATABASE_URL", database_url)
    monkeypatch.setenv("INBOX_RETENTION_DAYS", "3")
    monkeypatch.setenv("INBOX_PRUNE_BATCH", "2")
    ids = _fill(database, "inventory", [5 * DAY, 4 * DAY, 4 * DAY, 2 * DAY])
    function = new()
    function.start()
    try:
        assert [function.prune_inbox() for _ in range(3)] == [2, 1, 0]
    finally:
        function.stop()
    assert _kept(database, "inventory") == {ids[3]}
