"""redrive-orders in one process, on a SQLite orders database and a stand-in broker.

The stand-in broker is an HTTP server that, while it handles each publication,
writes an order row the way every order write does on SQLite (BEGIN IMMEDIATE),
with a short busy timeout: a re-drive that publishes while it holds the orders
write transaction makes that write fail.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.core.v1.event import CloudEvent
from prometheus_client import REGISTRY

from functions.redrive_orders import func as redrive_module
from functions.redrive_orders.func import new
from functions.runtime import saga_events
from shop.domain.orders import Order, OrderLine, new_order_id
from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from shop.usecases import followups, orders
from tests.functions.local_tracing import record_spans, traceparent

WRITE_TIMEOUT = 1.0  # seconds an order write may wait for the database lock
# The ping's re-drive threshold, long enough that no order of the test crosses it while
# the test runs, however slow the machine: "old" orders are older than it from the start.
OVERDUE_AFTER = 3600


@dataclass
class Broker:
    """What the stand-in broker received, and how each order write during it went."""

    database: Path
    received: list[tuple[str, str]] = field(default_factory=list)  # (type, subject)
    writes: list[str] = field(default_factory=list)  # "ok" or the error
    traceparents: list[str | None] = field(default_factory=list)  # ce-traceparent of each

    def write_an_order(self, order_id: str) -> None:
        connection = sqlite3.connect(self.database, timeout=WRITE_TIMEOUT, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "UPDATE orders_orders SET updated_at = updated_at WHERE id = ?", (order_id,)
            )
            connection.execute("COMMIT")
            self.writes.append("ok")
        except sqlite3.OperationalError as error:
            self.writes.append(str(error))
        finally:
            connection.close()


@pytest.fixture
def broker(tmp_path) -> Iterator[tuple[Broker, str]]:
    state = Broker(tmp_path / "orders.sqlite")

    class Ingress(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            subject = self.headers["ce-subject"]
            state.received.append((self.headers["ce-type"], subject))
            state.traceparents.append(self.headers.get("ce-traceparent"))
            state.write_an_order(subject)
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingress)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _order(age: timedelta, status: str | None = None) -> Order:
    moment = datetime.now(UTC) - age
    order = Order(
        id=new_order_id(),
        email="ada@example.com",
        payment_token="tok_visa",
        currency="EUR",
        lines=[OrderLine("TF-0001", 1, 990)],
        created_at=moment,
        updated_at=moment,
    )
    if status == "confirmed":
        order.confirm()
    return order


def _ping() -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": "dev.knative.sources.ping",
            "source": "/apis/v1/namespaces/test/pingsources/redrive-orders",
            "id": new_order_id(),
            "datacontenttype": "application/json",
        },
        data={"older_than_seconds": OVERDUE_AFTER},
    )


def test_redrive_publishes_outside_its_transaction_and_claims_what_it_finishes(broker, monkeypatch):
    state, sink = broker
    url = f"sqlite:///{state.database}"
    upgrade(url, ["orders"])
    old = timedelta(seconds=2 * OVERDUE_AFTER)
    stuck, unsettled, settling = _order(old), _order(old, "confirmed"), _order(old, "confirmed")
    database = Database(url)
    try:
        with database.writing() as session:
            for order in (stuck, unsettled, settling):
                orders.add(session, order)
            followups.expect(session, unsettled, datetime.now(UTC) - old)  # long overdue
            followups.expect(session, settling, datetime.now(UTC))  # its steps may still come
    finally:
        database.dispose()
    for name, value in {"ORDERS_DATABASE_URL": url, "K_SINK": sink}.items():
        monkeypatch.setenv(name, value)
    function = new()
    function.start()
    try:
        function.once(_ping())
        # Each order write made while the broker held a publication went through.
        assert state.writes and set(state.writes) == {"ok"}, state.writes
        assert sorted(state.received) == sorted(
            [(saga_events.ORDER_PLACED, stuck.id), (saga_events.ORDER_CONFIRMED, unsettled.id)]
        )

        # The next round publishes neither: both were claimed a moment ago, so the
        # pending order's saga and the final one's steps get the usual time to report
        # back (tests/integration/test_stuck_order_claims.py: when the claim ends).
        state.received.clear()
        function.once(_ping())
        assert state.received == []
    finally:
        function.stop()


def test_a_round_with_work_is_a_trace_of_its_own_and_an_idle_round_records_nothing(
    broker, monkeypatch
):
    state, sink = broker
    url = f"sqlite:///{state.database}"
    upgrade(url, ["orders"])
    young, stuck = _order(timedelta(0)), _order(timedelta(seconds=2 * OVERDUE_AFTER))
    for name, value in {"ORDERS_DATABASE_URL": url, "K_SINK": sink}.items():
        monkeypatch.setenv(name, value)
    spans = record_spans(monkeypatch, also=[redrive_module])
    runs = REGISTRY.get_sample_value("shop_redrive_runs_total") or 0
    redriven = REGISTRY.get_sample_value("shop_redrive_orders_total") or 0
    function = new()
    function.start()
    try:
        _add(url, young)
        function.once(_ping())  # nothing is old enough: no span at all
        assert spans.get_finished_spans() == ()
        assert REGISTRY.get_sample_value("shop_redrive_runs_total") == runs + 1
        assert REGISTRY.get_sample_value("shop_orders_pending_oldest_seconds") == 0

        _add(url, stuck)
        function.once(_ping())
    finally:
        function.stop()
    assert REGISTRY.get_sample_value("shop_redrive_runs_total") == runs + 2
    assert REGISTRY.get_sample_value("shop_redrive_orders_total") == redriven + 1
    assert REGISTRY.get_sample_value("shop_orders_pending_oldest_seconds") >= 2 * OVERDUE_AFTER
    by_name = {span.name: span for span in spans.get_finished_spans()}
    assert set(by_name) == {"re-drive orders", "re-drive order"}
    round_, order = by_name["re-drive orders"], by_name["re-drive order"]
    assert round_.parent is None  # a trace of its own: the ping's delivery is not traced
    assert order.parent.span_id == round_.context.span_id
    assert order.attributes["shop.order.id"] == stuck.id
    assert state.received == [(saga_events.ORDER_PLACED, stuck.id)]
    assert state.traceparents == [traceparent(order)]  # the re-driven event carries it


def _add(url: str, order: Order) -> None:
    database = Database(url)
    try:
        with database.writing() as session:
            orders.add(session, order)
    finally:
        database.dispose()
