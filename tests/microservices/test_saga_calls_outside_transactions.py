"""The orders service's saga and re-driver never hold the orders database while they
call a peer: every call is made with no transaction of theirs open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from microservices.common.upstream import NoAnswer
from microservices.orders import saga
from microservices.orders.redrive import Redriver
from shop.domain.catalog import Product
from shop.domain.orders import Order
from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from shop.schemas import OrderIn
from shop.usecases import orders

SKU = "SAGA-001"


def _locked(path: Path) -> bool:
    """Whether a writer holds the SQLite file now (another connection cannot begin one)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        other.close()


class CheckingPeers:
    """The saga's peers, answering as healthy services do; each call notes whether the
    orders database was locked while it was made."""

    def __init__(self, orders_file: Path) -> None:
        self.orders_file = orders_file
        self.calls: list[tuple[str, bool]] = []
        self.reserve_answers = True

    def _note(self, call: str) -> None:
        self.calls.append((call, _locked(self.orders_file)))

    def products(self, skus: list[str]) -> dict[str, Product]:
        self._note("products")
        return {SKU: Product(SKU, "Mug", "", 500, "EUR")}

    def reserve(self, order: Order) -> str:
        self._note("reserve")
        if not self.reserve_answers:
            raise NoAnswer("inventory", "timed out")
        return "held"

    def charge(self, order: Order) -> str:
        self._note("charge")
        return "captured"

    def cancel_charge(self, order: Order) -> str:
        self._note("cancel_charge")
        return "failed"

    def commit(self, order_id: str) -> None:
        self._note("commit")

    def release(self, order_id: str) -> None:
        self._note("release")

    def notify(self, order: Order) -> None:
        self._note("notify")


def test_the_saga_and_the_redriver_call_peers_with_no_transaction_open(tmp_path):
    path = tmp_path / "orders.sqlite"
    url = f"sqlite:///{path}"
    upgrade(url, ["orders"])
    database = Database(url)
    peers = CheckingPeers(path)
    request = OrderIn(
        email="a@example.com", payment_token="tok_visa", lines=[{"sku": SKU, "quantity": 1}]
    )
    try:
        placed = saga.place(database, peers, request, lease=30)
        assert placed.status == "confirmed" and placed.notified
        peers.reserve_answers = False  # the next order stays pending: the re-driver's work
        pending = saga.place(database, peers, request, lease=30)
        assert pending.status == "pending"
        peers.reserve_answers = True
        assert Redriver(database, peers, interval=60, after=0, lease=30).run_once() == 1
        with database.reading() as session:
            assert orders.get(session, pending.id).status == "confirmed"
    finally:
        database.dispose()
    names = [name for name, _ in peers.calls]
    assert names.count("reserve") == 3 and names.count("notify") == 2, names
    assert [name for name, locked in peers.calls if locked] == []
