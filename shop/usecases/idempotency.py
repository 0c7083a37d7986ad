"""Idempotency-Key on order creation: a client can ask again and never gets two orders.

The rule, for every stage:
- the key is optional; if given it is 1 to 255 visible ASCII characters (0x21-0x7E);
- a request is identified by the key and a fingerprint of its validated body;
- the same key and fingerprint answer the order placed first, as it is now;
- the same key with another fingerprint is refused (422 idempotency-key-reused);
- a key is kept for a retention (IDEMPOTENCY_KEY_TTL, 24 hours), then it is free again.

A stage wires it in two places: `place_once` around its placement, and `remember` in
the transaction that inserts the order, before any call or publish, so the key and
the order are written together or not at all. The key is unique in the database: of
two requests racing with one key, the second one's insert fails (KeyTaken) and it
answers the first one's order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import Connection

from shop.domain.orders import Order
from shop.persistence.database import Database
from shop.persistence.idempotency_store import IdempotencyStore, KeyRecord, KeyTaken
from shop.problems import Problem, validation_problem
from shop.schemas import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey
from shop.usecases import orders
from shop.usecases.errors import NotFound

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH
_KEY = TypeAdapter(IdempotencyKey)  # the syntax the OpenAPI document states
DEFAULT_TTL_SECONDS = 24 * 3600
# Expired keys deleted by one write at most, so no single order pays for a backlog.
PRUNE_BATCH = 100
# A request that loses the race for its key reads the winner's order; this many rounds
# cover a winner whose order was undone meanwhile (the split stages delete an order
# inventory never saw), after which the loser places the order itself.
ATTEMPTS = 3


@dataclass(frozen=True)
class RequestKey:
    """A request's Idempotency-Key, the fingerprint of its body, and how long keys live."""

    key: str
    fingerprint: str
    ttl: timedelta = timedelta(seconds=DEFAULT_TTL_SECONDS)


def parse_key(values: Iterable[str]) -> str | None:
    """The header's value (its field lines joined by commas, RFC 9110 5.3, as gunicorn
    joins them), None if absent, or a 422 naming the header if malformed."""
    values = list(values)
    if not values:
        return None
    key = ",".join(values)
    try:
        return _KEY.validate_python(key)
    except ValidationError:
        msg = f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (0x21-0x7E)"
        raise validation_problem([{"loc": ["header", HEADER], "msg": msg}]) from None


def fingerprint(request: BaseModel) -> str:
    """sha256 of the validated request as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def for_request(key: str | None, request: BaseModel, ttl_seconds: float) -> RequestKey | None:
    """The key of this validated request (None without the header)."""
    if key is None:
        return None
    return RequestKey(key, fingerprint(request), timedelta(seconds=ttl_seconds))


def earlier_order(
    session: Connection, key: RequestKey, now: datetime | None = None
) -> Order | None:
    """The order placed with this key and body, None if the key is unused or expired;
    422 if it was used with another body."""
    record = IdempotencyStore(session).get(key.key)
    if record is None or record.created_at < _cutoff(key, now):
        return None
    if record.fingerprint != key.fingerprint:
        raise Problem(
            "idempotency-key-reused",
            f"this {HEADER} was used with another request; send a new key for a new order",
        )
    try:
        return orders.get(session, record.order_id)
    except NotFound:  # undone with its key by now (forget): as if never placed
        return None


def remember(
    session: Connection, key: RequestKey | None, order_id: str, now: datetime | None = None
) -> None:
    """Write the key for a new order, in the transaction that inserts the order.

    Takes over the key if it expired, deletes a bounded batch of other expired keys,
    and raises KeyTaken if another request holds the key (the caller's transaction is
    then rolled back, and `place_once` answers the other request's order).
    """
    if key is None:
        return
    now = now or datetime.now(UTC)
    store, cutoff = IdempotencyStore(session), _cutoff(key, now)
    store.delete(key.key, before=cutoff)
    store.delete_expired(cutoff, PRUNE_BATCH)
    store.add(KeyRecord(key.key, key.fingerprint, order_id, now))


def forget(session: Connection, key: RequestKey | None, order_id: str) -> None:
    """Free the key of an order that is undone (deleted before anything happened)."""
    if key is not None:
        IdempotencyStore(session).delete(key.key, order_id=order_id)


def place_once(database: Database, key: RequestKey | None, place: Callable[[], Order]) -> Order:
    """The order of an earlier request with this key and body, or `place()` a new one.

    `place` must `remember` the key in the transaction that inserts its order.
    """
    if key is None:
        return place()
    for _ in range(ATTEMPTS):
        with database.reading() as session:
            earlier = earlier_order(session, key)
        if earlier is not None:
            return earlier
        try:
            return place()
        except KeyTaken:
            continue  # another request with this key inserted first: read its order
    raise Problem("service-unavailable", f"requests with this {HEADER} keep colliding; try again")


def _cutoff(key: RequestKey, now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)) - key.ttl
