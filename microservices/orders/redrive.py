"""The re-driver: finishes sagas that a failure left half way.

A thread in the orders service (in every replica); every REDRIVE_INTERVAL seconds it
resumes orders pending for longer than REDRIVE_AFTER seconds and notifies final
orders whose customer was not told yet. It works on an order only after claiming it
(shop/usecases/order_claims.py), so it never runs beside the order's live saga nor
beside another replica's re-driver; an order that fails is logged and the round goes on.

A round that finds work is a trace of its own ("re-drive round", not a request's),
with a "re-drive order" span per order under it: the saga's step spans inside carry
the order id, so `make trace ORDER=` finds the re-drive beside the order's first run.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from microservices.orders import saga
from microservices.orders.peers import Peers
from shop.persistence.database import Database
from shop.telemetry import metrics
from shop.telemetry.tracing import order_span, tracer
from shop.usecases import order_claims, orders
from shop.usecases.order_claims import Claim

log = logging.getLogger("orders.redrive")


class Redriver:
    def __init__(
        self, database: Database, peers: Peers, interval: float, after: float, lease: float
    ) -> None:
        self.database = database
        self.peers = peers
        self.interval = interval
        self.after = timedelta(seconds=after)
        self.lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="redrive", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("re-drive round failed")

    def run_once(self) -> int:
        """One round; returns how many orders it worked on."""
        now = datetime.now(UTC)
        with self.database.reading() as session:
            due = order_claims.due(session, now - self.after)
            oldest = orders.stuck(session, now, limit=1)
        metrics.REDRIVE_RUNS.inc()
        age = (now - oldest[0].created_at).total_seconds() if oldest else 0.0
        metrics.ORDERS_PENDING_OLDEST.set(max(age, 0.0))
        if not due:
            return 0  # no trace for a round with nothing to do (one every interval)
        worked = 0
        with tracer().start_as_current_span(
            "re-drive round", attributes={"shop.redrive.due": len(due)}
        ):
            for order_id in due:
                with order_span("re-drive order", order_id) as span:
                    try:
                        taken = self.redrive(order_id)
                    except Exception:  # one broken order must not stop the others
                        log.exception("re-driving order %s failed", order_id)
                        continue
                    span.set_attribute("shop.redrive.taken", taken)
                    worked += taken
        metrics.REDRIVE_ORDERS.inc(worked)
        return worked

    def redrive(self, order_id: str) -> bool:
        """Claim the order and take its saga on from where it stopped; False if it was taken."""
        claim = Claim.new(order_id, self.lease)
        with self.database.writing() as session:
            order = order_claims.take(session, claim)
        if order is None:
            return False  # its own saga, or another replica, holds it
        try:
            if order.status.is_final:
                saga.notify(self.database, self.peers, order)
            else:
                log.info("re-driving order %s (pending since %s)", order.id, order.created_at)
                order = saga.resume(self.database, self.peers, order)
        finally:
            saga.give_back(self.database, claim, order)
        return True
