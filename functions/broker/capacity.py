"""The bound on the broker's work in memory: deliveries in flight per subscriber.

Each subscriber (URL) has at most BROKER_SUBSCRIBER_CAPACITY deliveries in
flight (waiting for a retry included). An event that would take one more is
refused as a whole (`OverCapacity`): the ingress answers 503 with Retry-After,
so the publisher tries again later, and a reply is refused back to its
delivery, which counts as a failed attempt and is retried with backoff (the
subscriber answers the same reply again).
"""

from __future__ import annotations

from collections import Counter


class OverCapacity(Exception):
    """An event refused because a subscriber it goes to has no room for more work."""

    def __init__(self, subscriber: str, capacity: int) -> None:
        super().__init__(f"subscriber {subscriber} has {capacity} deliveries in flight")
        self.subscriber = subscriber


class SubscriberLoad:
    """Deliveries in flight per subscriber (a route's `load_key`), against the capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._in_flight: Counter[str] = Counter()

    def full(self, key: str) -> bool:
        return self._in_flight[key] >= self.capacity

    def take(self, key: str) -> None:
        self._in_flight[key] += 1

    def release(self, key: str) -> None:
        self._in_flight[key] -= 1
        if self._in_flight[key] <= 0:
            del self._in_flight[key]
