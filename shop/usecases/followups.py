"""What a final order still owes, until the step that does it says it is done.

Once an order is final, two things must still happen, each by its own step:
its held stock is settled (sold when confirmed, given back when rejected) and
its customer is told. The order records both as owed when it becomes final, in
the same transaction; each step's acknowledgement removes its row. A row left
for too long means the step's event was lost or dead-lettered: the re-drive
claims the order and publishes its outcome again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from shop.domain.orders import Order
from shop.persistence.followups_store import FollowUpStore
from shop.usecases import orders

STOCK = "stock"  # the held stock sold (confirmed) or given back (rejected)
CUSTOMER = "customer"  # the customer told of the outcome
STEPS = (STOCK, CUSTOMER)


def expect(session: Connection, order: Order, at: datetime) -> None:
    """The order just became final: every step is owed from `at`."""
    FollowUpStore(session).add(order.id, STEPS, at)


def acknowledge(session: Connection, order_id: str, step: str) -> bool:
    """`step` is done for the order; False when it was not owed (a repeat)."""
    if step not in STEPS:
        raise ValueError(f"unknown follow-up step {step!r}")
    return FollowUpStore(session).remove(order_id, step)


def owed(session: Connection, order_id: str) -> set[str]:
    return FollowUpStore(session).owed(order_id)


def claim_overdue(
    session: Connection, before: datetime, now: datetime, limit: int = 100
) -> list[Order]:
    """Final orders with a step owed since before `before`, claimed: their wait starts
    again at `now`, so another re-drive (another replica, the next round) skips them."""
    store = FollowUpStore(session)
    claimed = [
        order_id
        for order_id in store.waiting_before(before, limit)
        if store.restart_wait(order_id, before, now)
    ]
    return [orders.get(session, order_id) for order_id in claimed]
