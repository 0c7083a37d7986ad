"""The broker's Prometheus metrics (GET /metrics, with the HTTP ones of shop.telemetry).

Labels are event types and trigger names, fixed by the manifests: never an event id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_INGESTED = Counter(
    "broker_events_ingested", "Events the broker accepted (published or replied), by type", ["type"]
)
DELIVERIES = Counter(
    "broker_deliveries",
    "Deliveries finished, by trigger and result: delivered, dead_lettered",
    ["trigger", "result"],
)
RETRIES = Counter("broker_delivery_retries", "Attempts after a delivery's first", ["trigger"])
DEAD_LETTERS = Counter(
    "broker_dead_letters", "Deliveries given up on (retries exhausted or not allowed)", ["trigger"]
)
QUEUE_DEPTH = Gauge(
    "broker_queue_depth",
    "Deliveries in flight, waiting for a retry included",
    multiprocess_mode="sum",
)
DELIVERY_LAG = Histogram(
    "broker_delivery_lag_seconds",
    "From an event's ingest to its subscriber's accepting answer, by trigger",
    ["trigger"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
