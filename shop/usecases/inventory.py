"""Inventory use cases. The order id is the idempotency key of every stock movement."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from shop.domain import inventory as rules
from shop.domain.catalog import is_valid_sku
from shop.domain.inventory import Reservation, ReservationStatus, StockLevel
from shop.persistence.inventory_store import InventoryStore
from shop.usecases.errors import NotFound


def get_stock(session: Connection, sku: str) -> StockLevel:
    level = InventoryStore(session).level(sku) if is_valid_sku(sku) else None
    if level is None:
        raise NotFound(f"no stock kept for sku {sku}")
    return level


def track(session: Connection, sku: str) -> StockLevel:
    """Start keeping stock for a new sku (none on hand); a second call changes nothing."""
    store = InventoryStore(session)
    level = store.level(sku)
    if level is None:
        level = StockLevel(sku)
        try:
            with session.begin_nested():
                store.add_level(level)
        except IntegrityError:  # a concurrent call started keeping it first: fine
            level = store.level(sku) or level
    return level


def restock(session: Connection, sku: str, quantity: int) -> StockLevel:
    store = InventoryStore(session)
    levels = store.levels_for_update([sku]) if is_valid_sku(sku) else {}
    if sku not in levels:
        raise NotFound(f"no stock kept for sku {sku}")
    levels[sku].restock(quantity)
    store.save_levels(levels.values())
    return levels[sku]


def reserve(session: Connection, order_id: str, lines: dict[str, int]) -> Reservation:
    """Hold every line or none. Asked again for the same order, answers the first result."""
    return reserve_once(session, order_id, lines)[0]


def reserve_once(
    session: Connection, order_id: str, lines: dict[str, int]
) -> tuple[Reservation, bool]:
    """`reserve`, and whether this call made the reservation (False: it answers an earlier
    call's), so a caller counts a reservation once, after its commit."""
    store = InventoryStore(session)
    levels = store.levels_for_update(lines)
    existing = store.reservation(order_id)
    if existing is not None:
        return existing, False
    reservation = rules.reserve_all(order_id, levels, lines)
    try:
        with session.begin_nested():
            if reservation.status is ReservationStatus.HELD:
                store.save_levels(levels[sku] for sku in lines)
            store.add_reservation(reservation)
    except IntegrityError:
        # Only possible when no stock row was locked (no line's sku is kept): a concurrent
        # call for the same order recorded its (rejected) reservation first.
        found = store.reservation(order_id)
        return (found, False) if found else (reservation, True)
    return reservation, True


def release(session: Connection, order_id: str) -> Reservation | None:
    """Compensation: give back what the order holds. Safe to call again, or for no reservation."""
    return release_once(session, order_id)[0]


def commit(session: Connection, order_id: str) -> Reservation | None:
    """The order is confirmed: its held units become sold. Safe to call again."""
    return commit_once(session, order_id)[0]


def release_once(session: Connection, order_id: str) -> tuple[Reservation | None, bool]:
    """`release`, and whether this call changed the reservation (False: again, or none)."""
    return _settle(session, order_id, rules.release_all)


def commit_once(session: Connection, order_id: str) -> tuple[Reservation | None, bool]:
    """`commit`, and whether this call changed the reservation (False: again, or none)."""
    return _settle(session, order_id, rules.commit_all)


def _settle(session: Connection, order_id: str, rule) -> tuple[Reservation | None, bool]:
    # Lock before deciding: the reservation rows first (a concurrent settle of the same
    # order waits here, then reads the status the first one wrote), then its stock rows
    # in sku order. reserve() never waits on reservation locks, so no cycle.
    store = InventoryStore(session)
    reservation = store.reservation(order_id, for_update=True)
    if reservation is None:
        return None, False
    levels = store.levels_for_update(reservation.lines)
    before = reservation.status
    rule(reservation, levels)
    if reservation.status is not before:
        store.save_levels(levels.values())
        store.save_reservation_status(reservation)
    return reservation, reservation.status is not before
