"""The tables, one MetaData per context so each context can live in its own database.

Table names carry the context as a prefix, so the monolith can keep all five
contexts in one database without a clash, and a later stage can split them
out unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

catalog = MetaData(naming_convention=NAMING)
inventory = MetaData(naming_convention=NAMING)
orders = MetaData(naming_convention=NAMING)
payments = MetaData(naming_convention=NAMING)
notifications = MetaData(naming_convention=NAMING)

METADATA: dict[str, MetaData] = {
    "catalog": catalog,
    "inventory": inventory,
    "orders": orders,
    "payments": payments,
    "notifications": notifications,
}
CONTEXTS = tuple(METADATA)

products = Table(
    "catalog_products",
    catalog,
    Column("sku", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("price_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("price_cents > 0", name="price_positive"),
)

stock_levels = Table(
    "inventory_stock_levels",
    inventory,
    Column("sku", String(32), primary_key=True),
    Column("available", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("sold", Integer, nullable=False, default=0),
    CheckConstraint("available >= 0", name="available_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("sold >= 0", name="sold_not_negative"),
)

# One row per order and sku; the order id is the idempotency key of a reservation.
reservations = Table(
    "inventory_reservations",
    inventory,
    Column("order_id", String(40), primary_key=True),
    Column("sku", String(32), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

order_rows = Table(
    "orders_orders",
    orders,
    Column("id", String(40), primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("payment_token", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The customer has been told of the final status (a stage re-notifies until then).
    Column("notified", Boolean, nullable=False, default=False, server_default=false()),
    # A saga working on the order holds it until then (a lease, no open transaction);
    # the exact moment is also its holder's token. NULL: nobody works on it.
    Column("claimed_until", DateTime(timezone=True)),
)

# What a final order still owes (one row per step: "stock" settled, "customer" told),
# deleted when the step's function acknowledges it; the functions stage re-drives a
# row waiting for too long, and `waiting_since` restarts the wait when it does.
order_followups = Table(
    "orders_followups",
    orders,
    Column("order_id", String(40), primary_key=True),
    Column("step", String(16), primary_key=True),
    Column("waiting_since", DateTime(timezone=True), nullable=False, index=True),
)

order_lines = Table(
    "orders_lines",
    orders,
    Column("order_id", String(40), primary_key=True),
    Column("sku", String(32), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
)

# A client's Idempotency-Key on POST /api/orders: the request it came with (a sha256 of
# the validated body) and the order it placed. The key is unique, so of two requests
# racing with one key only one writes its order; rows older than the retention expire.
idempotency_keys = Table(
    "orders_idempotency_keys",
    orders,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("order_id", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

# The saga's events that the broker gave up on (Knative's deadLetterSink): one row per
# event and failed destination, so a dead letter delivered twice is kept once. Kept by the
# orders context because the orders re-drive is what finishes what they left undone;
# the rows are for people (GET /dead-letters of the dead-letters function).
dead_letters = Table(
    "orders_dead_letters",
    orders,
    Column("event_source", String(255), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("error_destination", String(255), primary_key=True),  # "" when the broker named none
    Column("event_type", String(200), nullable=False),
    Column("subject", String(200)),
    Column("error_code", Integer),
    Column("error_data", Text),
    Column("event", Text, nullable=False),  # the whole event as JSON, data decoded
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

# One charge per order: the order id is the idempotency key of a charge.
charges = Table(
    "payments_charges",
    payments,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("order_id"),
)

# One message per order and kind, so a retried notify sends nothing twice.
messages = Table(
    "notifications_messages",
    notifications,
    Column("id", String(40), primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("order_id", String(40), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("order_id", "kind"),
)


def _inbox(context: str, metadata: MetaData) -> Table:
    """Events a context's handlers have processed, by consumer and event id.

    Delivery is at least once: a handler records the event id in the same
    transaction as its effect, so a redelivered event changes nothing, and
    keeps the reply it sent, so it can answer a redelivery with the same reply.
    Rows older than the retention are pruned (by `received_at`, hence its index).
    """
    return Table(
        f"{context}_inbox",
        metadata,
        Column("consumer", String(64), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("reply", Text),
        Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    )


INBOXES: dict[str, Table] = {
    context: _inbox(context, METADATA[context])
    for context in ("inventory", "orders", "payments", "notifications")
}
