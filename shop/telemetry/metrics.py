"""The Prometheus metrics every stage shares, and the /metrics page.

Names follow Prometheus' conventions (base units, `_total` added to counters by
the client); label values come from small fixed sets (a route template, a status,
a reason), never an order id or an email. Each process exports its own; a
gunicorn master's workers share theirs through PROMETHEUS_MULTIPROC_DIR (the
client's multiprocess mode), so one scrape of the monolith counts every worker.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from shop.domain.orders import Order, OrderStatus

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

# Request rate, errors (by status) and duration per route: one histogram gives all three.
HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
ORDERS_PLACED = Counter("shop_orders_placed", "Orders accepted by POST /api/orders")
ORDERS_FINISHED = Counter(
    "shop_orders_finished",
    "Orders that reached a final status; reason is empty for confirmed ones",
    ["status", "reason"],
)
ORDER_COMPLETION = Histogram(
    "shop_order_completion_seconds",
    "From an order's creation to its final status",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
ORDERS_PENDING_OLDEST = Gauge(
    "shop_orders_pending_oldest_seconds",
    "Age of the oldest order the last re-drive round found still pending (0: none)",
    multiprocess_mode="max",
)
STOCK_RESERVATIONS = Counter(
    "shop_stock_reservations",
    "Stock reservations by what happened: reserved, rejected (out of stock), released, committed",
    ["result"],
)
PAYMENTS = Counter("shop_payments", "Charges by outcome: captured, declined, failed", ["outcome"])
NOTIFICATIONS = Counter("shop_notifications_sent", "Messages recorded for customers")
REDRIVE_RUNS = Counter("shop_redrive_runs", "Re-drive rounds run")
REDRIVE_ORDERS = Counter("shop_redrive_orders", "Stuck orders a re-drive round took up")


def order_finished(order: Order, now: datetime | None = None) -> None:
    """Count an order that has just reached its final status (call after the commit)."""
    if not order.status.is_final:
        return
    reason = "" if order.status is OrderStatus.CONFIRMED else (order.reason or "")
    ORDERS_FINISHED.labels(status=str(order.status), reason=reason).inc()
    age = ((now or datetime.now(UTC)) - order.created_at).total_seconds()
    ORDER_COMPLETION.observe(max(age, 0.0))


def page() -> tuple[bytes, str]:
    """The text exposition of this process's metrics (all workers' in multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
