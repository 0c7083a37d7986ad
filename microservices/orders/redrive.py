"""The re-driver: finishes sagas that a failure left half way.

A thread in the orders service; every REDRIVE_INTERVAL seconds it resumes
orders pending for longer than REDRIVE_AFTER seconds and notifies final
orders whose customer was not told yet. Every step is idempotent, so running
it beside a live request, or in several replicas, changes no outcome.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from microservices.orders import saga
from microservices.orders.peers import Peers
from shop.persistence.database import Database
from shop.services import orders

log = logging.getLogger("orders.redrive")


class Redriver:
    def __init__(self, database: Database, peers: Peers, interval: float, after: float) -> None:
        self.database = database
        self.peers = peers
        self.interval = interval
        self.after = timedelta(seconds=after)
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
        """One round; returns how many orders it touched."""
        with self.database.reading() as session:
            stuck = orders.stuck(session, datetime.now(UTC) - self.after)
            unnotified = orders.unnotified(session)
        for order in stuck:
            log.info("re-driving order %s (pending since %s)", order.id, order.created_at)
            saga.resume(self.database, self.peers, order)
        for order in unnotified:
            saga.notify(self.database, self.peers, order)
        return len(stuck) + len(unnotified)
