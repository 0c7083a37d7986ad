"""A function's readiness: its databases answer, and the answer names the process.

func-python answers /health/readiness with the message `ready()` returns, so that
message is the same JSON as /readyz (shop.health.Health, with this process's
instance): the launcher reads the identity from it, as from every other process.
"""

from __future__ import annotations

from collections.abc import Iterable

from shop.health import Health
from shop.persistence.database import Database


def readiness(databases: Iterable[Database]) -> Health:
    """Ready when every database of the function answers a ping."""
    try:
        for database in databases:
            database.ping()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return Health(status="unavailable", checks={"database": str(error)})
    return Health(status="ok", checks={"database": "ok"})


def probe_answer(health: Health) -> tuple[bool, str]:
    """What func-python's `ready()` returns: ready or not, and the body it answers."""
    return health.status == "ok", health.model_dump_json()
