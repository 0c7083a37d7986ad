"""What a stage's databases hold after a run, read straight from its tables (SQLAlchemy).

A stage keeps each context in its own database (microservices, functions) or
all of them in one (the monolith); `context_urls` says where each context's
tables are, and `read_ledger` reads orders, stock, reservations, charges and
messages from there into plain values that the reconciliation checks compare.
Nothing here goes through the stage's API: a check must see what is stored,
not what a service answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from shop.persistence.database import Database, as_utc
from shop.persistence.tables import (
    CONTEXTS,
    charges,
    messages,
    order_lines,
    order_rows,
    reservations,
    stock_levels,
)


@dataclass(frozen=True)
class OrderRecord:
    id: str
    status: str
    reason: str | None
    total_cents: int
    created_at: datetime
    lines: dict[str, int]  # sku -> quantity


@dataclass(frozen=True)
class StockRecord:
    available: int
    reserved: int
    sold: int

    @property
    def total(self) -> int:
        return self.available + self.reserved + self.sold


@dataclass(frozen=True)
class ReservationRecord:
    lines: dict[str, int]  # sku -> quantity
    statuses: frozenset[str]  # one per line; all the same unless a settlement went wrong

    @property
    def status(self) -> str:
        return "/".join(sorted(self.statuses))


@dataclass(frozen=True)
class ChargeRecord:
    id: str
    status: str
    amount_cents: int
    reason: str | None


@dataclass
class Ledger:
    """Everything the checks compare, as stored, keyed by order id or sku."""

    orders: dict[str, OrderRecord] = field(default_factory=dict)
    stock: dict[str, StockRecord] = field(default_factory=dict)
    reservations: dict[str, ReservationRecord] = field(default_factory=dict)
    charges: dict[str, list[ChargeRecord]] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)  # order id -> message kinds
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def stock_totals(self) -> dict[str, int]:
        return {sku: level.total for sku, level in self.stock.items()}


def context_urls(names: tuple[str, ...], database: Mapping[str, str]) -> dict[str, str]:
    """{context: url} for a stage whose databases are `names` (DATABASES in
    stages/definitions.py) with URLs `database`: a context without a database of its
    own (the monolith keeps every context in one) lives in the first."""
    return {c: database[c if c in names else names[0]] for c in CONTEXTS}


def _read(url: str, read) -> object:
    database = Database(url)
    try:
        with database.reading() as session:
            return read(session)
    finally:
        database.dispose()


def _orders(session) -> dict[str, OrderRecord]:
    lines: dict[str, dict[str, int]] = defaultdict(dict)
    for row in session.execute(select(order_lines)):
        lines[row.order_id][row.sku] = row.quantity
    return {
        row.id: OrderRecord(
            row.id,
            row.status,
            row.reason,
            row.total_cents,
            as_utc(row.created_at),
            lines.get(row.id, {}),
        )
        for row in session.execute(select(order_rows))
    }


def _inventory(session) -> tuple[dict[str, StockRecord], dict[str, ReservationRecord]]:
    stock = {
        row.sku: StockRecord(row.available, row.reserved, row.sold)
        for row in session.execute(select(stock_levels))
    }
    lines: dict[str, dict[str, int]] = defaultdict(dict)
    statuses: dict[str, set[str]] = defaultdict(set)
    for row in session.execute(select(reservations)):
        lines[row.order_id][row.sku] = row.quantity
        statuses[row.order_id].add(row.status)
    held = {oid: ReservationRecord(lines[oid], frozenset(statuses[oid])) for oid in lines}
    return stock, held


def _charges(session) -> dict[str, list[ChargeRecord]]:
    found: dict[str, list[ChargeRecord]] = defaultdict(list)
    for row in session.execute(select(charges).order_by(charges.c.created_at)):
        found[row.order_id].append(ChargeRecord(row.id, row.status, row.amount_cents, row.reason))
    return dict(found)


def _messages(session) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for row in session.execute(select(messages).order_by(messages.c.created_at)):
        found[row.order_id].append(row.kind)
    return dict(found)


def read_ledger(urls: Mapping[str, str]) -> Ledger:
    """Read every context's tables from its database ({context: url}, see context_urls)."""
    orders = _read(urls["orders"], _orders)  # first: a later step never precedes its order
    stock, held = _read(urls["inventory"], _inventory)
    return Ledger(
        orders=orders,
        stock=stock,
        reservations=held,
        charges=_read(urls["payments"], _charges),
        messages=_read(urls["notifications"], _messages),
    )
