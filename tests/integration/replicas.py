"""Run one piece of work in two replicas at once, each with its own connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from shop.persistence.database import Database

T = TypeVar("T")


def in_two_replicas(database_url: str, work: Callable[[Connection], T]) -> list[T]:
    """What `work` answered in each replica; both start their write transaction, then
    meet at a barrier, so the two transactions overlap."""
    barrier, answers = threading.Barrier(2), []

    def replica() -> None:
        database = Database(database_url)
        try:
            with database.writing() as session:
                barrier.wait()
                answers.append(work(session))
        finally:
            database.dispose()

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers
