"""Fault tests of the microservices stage: real processes, real HTTP, real crashes.

A service is killed (SIGKILL) and started again, or made slower than its caller's
timeout, while an order goes through the saga. Whatever happens, the promises of
microservices/orders/saga.py must hold, and every test ends by checking two of them:

- stock is conserved: available + reserved + sold of the test's product is its
  starting stock (read through the gateway, GET /api/stock/{sku});
- no order is left pending: the test's order is confirmed or rejected.

Each test makes its own product and customer email, so tests sharing a stage do not
see each other's orders. Stages whose settings differ are started separately.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shop.domain.orders import new_order_id
from shop.persistence.inventory_store import InventoryStore
from shop.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from tests.faults.conftest import (
    ADMIN_TOKEN,
    DATABASES,
    DEFAULT_DATABASES,
    Stage,
    microservices_stage,
)
from tests.support.client import FINAL, ShopClient, new_email
from tests.support.waiting import eventually

# How long the re-driver (every 0.3 s, for orders pending > 1 s) may take to finish a saga.
REDRIVE_SECONDS = 20.0


def order_body(email: str, lines: list[tuple[str, int]], token: str = "tok_visa") -> dict:
    return {
        "email": email,
        "payment_token": token,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }


def new_request_id() -> str:
    return f"test-{secrets.token_hex(8)}"


def only_order(shop: ShopClient, email: str) -> dict[str, Any]:
    found = shop.orders_of(email)
    assert len(found) == 1, found
    return found[0]


def assert_released(stage: Stage, sku: str, start: int) -> None:
    assert stage.shop.stock(sku) == {"sku": sku, "available": start, "reserved": 0, "sold": 0}


def assert_nothing_captured(stage: Stage, order_id: str) -> list[dict[str, Any]]:
    charges = stage.shop.payments_of(order_id)
    assert all(charge["status"] != "captured" for charge in charges), charges
    return charges


def charge_log_lines(stage: Stage, request_id: str) -> list[dict[str, Any]]:
    """payments' log lines of a finished POST /internal/charges made under `request_id`."""
    found = [
        entry
        for entry in stage.log_entries("payments")
        if entry.get("request_id") == request_id
        and entry["message"].startswith("POST /internal/charges ")
    ]
    assert found, f"payments has not finished the charge of request {request_id} yet"
    return found


def pending_charge(shop: ShopClient, email: str) -> str:
    """The id of the customer's only order once payments holds its charge as pending."""
    order_id = only_order(shop, email)["id"]
    charges = shop.payments_of(order_id)
    assert [c["status"] for c in charges] == ["pending"], charges
    return order_id


def given_up_or_redriven(stage: Stage, order_id: str, rounds: int) -> None:
    """The order is final, or the re-driver has taken it up `rounds` times."""
    if stage.shop.get(f"/api/orders/{order_id}").json()["status"] in FINAL:
        return
    taken_up = [
        line for line in stage.log_lines("orders") if f"re-driving order {order_id} " in line
    ]
    assert len(taken_up) >= rounds, f"order {order_id} re-driven {len(taken_up)} times so far"


# --- 1. payments down ------------------------------------------------------------------------


def test_payments_down_rejects_the_order_and_releases_its_stock(stage: Stage):
    shop, start = stage.shop, 5
    sku, email = shop.new_product(stock=start), new_email()

    with stage.down("payments"):
        answer = shop.place(email, [(sku, 2)])
        assert answer.status_code == 202, answer.text
        order = shop.wait_final(answer.json()["id"], timeout=REDRIVE_SECONDS)
        assert (order["status"], order["reason"]) == ("rejected", "payment_failed"), order
        assert_released(stage, sku, start)

    # payments is back: it never saw a charge for the order, so nothing can be captured.
    assert shop.payments_of(order["id"]) == []
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order["id"])


# --- 2. payments slower than its timeout -----------------------------------------------------


@pytest.fixture(scope="class", params=DEFAULT_DATABASES)
def slow_payments_stage(request, tmp_path_factory):
    """Every charge takes 2.5 s; orders gives up on a charge after 0.8 s."""
    env = {"payments": {"PAYMENT_LATENCY_MS": "2500"}, "orders": {"PAYMENT_TIMEOUT": "0.8"}}
    data_dir = tmp_path_factory.mktemp(f"slow-payments-{request.param}")
    with microservices_stage(data_dir, env, request.param) as running:
        yield running


class TestPaymentsSlowerThanTimeout:
    def test_order_is_rejected_and_the_late_charge_never_captured(self, slow_payments_stage):
        stage = slow_payments_stage
        shop, start = stage.shop, 4
        sku, email, request_id = shop.new_product(stock=start), new_email(), new_request_id()

        answer = shop.post(
            "/api/orders",
            json=order_body(email, [(sku, 3)]),
            headers={"X-Request-ID": request_id},
        )
        assert answer.status_code == 202, answer.text
        order = shop.wait_final(answer.json()["id"], timeout=REDRIVE_SECONDS)
        assert (order["status"], order["reason"]) == ("rejected", "payment_failed"), order
        assert_released(stage, sku, start)

        # The provider answers (approves) 2.5 s after the charge was opened, long after the
        # order gave up: wait until payments has recorded that late answer, then look.
        eventually(lambda: charge_log_lines(stage, request_id), timeout=10.0)
        charges = assert_nothing_captured(stage, order["id"])
        assert [(c["status"], c["reason"]) for c in charges] == [
            ("failed", "cancelled: no answer in time")
        ], charges
        assert_released(stage, sku, start)
        stage.assert_stock_conserved(sku, start)
        stage.assert_final(order["id"])

    def test_graceful_stop_during_a_charge_captures_nothing_for_a_rejected_order(
        self, slow_payments_stage
    ):
        """SIGTERM, as on a redeploy: payments refuses new calls but finishes the charge it has
        (and, given up by orders after 0.8 s, could not be told to cancel it)."""
        stage = slow_payments_stage
        shop, start, quantity = stage.shop, 6, 2
        sku, email = shop.new_product(stock=start), new_email()

        customer = ShopClient(stage.running.url, ADMIN_TOKEN)
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                placing = pool.submit(customer.place, email, [(sku, quantity)])
                order_id = eventually(lambda: pending_charge(shop, email), interval=0.02)
                with stage.stopped("payments"):  # back once it has finished the charge
                    answer = placing.result(timeout=30)
                    assert answer.status_code == 202, answer.text
            finally:
                customer.close()

        order = shop.wait_final(order_id, timeout=REDRIVE_SECONDS)
        charges = shop.payments_of(order_id)
        outcome = (order["status"], order["reason"], [c["status"] for c in charges])
        if order["status"] == "confirmed":
            assert outcome == ("confirmed", None, ["captured"]), outcome
            expected = {"sku": sku, "available": start - quantity, "reserved": 0, "sold": quantity}
            assert shop.stock(sku) == expected
        else:
            assert order["reason"] == "payment_failed", outcome
            assert "captured" not in outcome[2], f"captured for a rejected order: {outcome}"
            assert_released(stage, sku, start)
        stage.assert_stock_conserved(sku, start)
        stage.assert_final(order_id)


# --- 3. inventory down -----------------------------------------------------------------------


def test_inventory_down_answers_503_and_writes_nothing(stage: Stage):
    shop, start = stage.shop, 5
    sku, email = shop.new_product(stock=start), new_email()

    with stage.down("inventory"):
        answer = shop.place(email, [(sku, 2)])
        problem = PROBLEM_TYPES["service-unavailable"]
        assert answer.status_code == 503, answer.text
        content_type = answer.headers.get("content-type", "").split(";")[0].strip()
        assert content_type == PROBLEM_CONTENT_TYPE, answer.headers
        body = answer.json()
        assert body["type"] == problem.uri, body
        assert body["status"] == 503, body

    # inventory is back: no order was kept (none pending either), no unit moved.
    assert shop.orders_of(email) == []
    assert_released(stage, sku, start)
    stage.assert_stock_conserved(sku, start)


# --- 4. retried internal calls apply once ----------------------------------------------------


def test_retried_reserve_and_release_apply_once(stage: Stage):
    shop, start = stage.shop, 10
    sku, order_id = shop.new_product(stock=start), new_order_id()

    with stage.internal("inventory") as inventory:
        body = {"order_id": order_id, "lines": {sku: 3}}
        first = inventory.post("/internal/reservations", json=body)
        again = inventory.post("/internal/reservations", json=body)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert first.json() == again.json()
        assert first.json()["status"] == "held", first.json()
        assert shop.stock(sku) == {"sku": sku, "available": 7, "reserved": 3, "sold": 0}

        release = f"/internal/reservations/{order_id}/release"
        first, again = inventory.post(release), inventory.post(release)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert first.json() == again.json()
        assert first.json()["status"] == "released", first.json()

    assert_released(stage, sku, start)
    stage.assert_stock_conserved(sku, start)


def test_retried_charge_charges_once(stage: Stage):
    order_id = new_order_id()
    body = {
        "order_id": order_id,
        "amount_cents": 2500,
        "currency": "EUR",
        "payment_token": "tok_visa",
    }
    with stage.internal("payments") as payments:
        first = payments.post("/internal/charges", json=body)
        again = payments.post("/internal/charges", json=body)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    assert first.json()["status"] == "captured", first.json()

    charges = stage.shop.payments_of(order_id)
    assert len(charges) == 1, charges
    assert charges[0]["id"] == first.json()["id"]
    assert charges[0]["amount_cents"] == 2500


# --- 5. a crash in the middle of a charge ----------------------------------------------------


@pytest.fixture(scope="class", params=DEFAULT_DATABASES)
def crashing_payments_stage(request, tmp_path_factory):
    """Every charge takes 1.5 s, within orders' charge timeout (5 s): time to crash it."""
    env = {"payments": {"PAYMENT_LATENCY_MS": "1500"}, "orders": {"PAYMENT_TIMEOUT": "5"}}
    data_dir = tmp_path_factory.mktemp(f"crashing-payments-{request.param}")
    with microservices_stage(data_dir, env, request.param) as running:
        yield running


class TestPaymentsCrashDuringCharge:
    def test_no_order_is_left_pending(self, crashing_payments_stage):
        stage = crashing_payments_stage
        shop, start, quantity = stage.shop, 6, 2
        sku, email = shop.new_product(stock=start), new_email()

        customer = ShopClient(stage.running.url, ADMIN_TOKEN)
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                placing = pool.submit(customer.place, email, [(sku, quantity)])
                order_id = eventually(lambda: pending_charge(shop, email), interval=0.02)
                with stage.down("payments"):  # killed while the provider is "thinking"
                    answer = placing.result(timeout=30)
                    assert answer.status_code == 202, answer.text
                    assert answer.json()["id"] == order_id
            finally:
                customer.close()

        order = shop.wait_final(order_id, timeout=REDRIVE_SECONDS)
        charges = shop.payments_of(order_id)
        if order["status"] == "confirmed":
            assert [c["status"] for c in charges] == ["captured"], charges
            expected = {"sku": sku, "available": start - quantity, "reserved": 0, "sold": quantity}
            assert shop.stock(sku) == expected
        else:
            assert order["reason"] == "payment_failed", order
            assert_nothing_captured(stage, order_id)
            assert_released(stage, sku, start)
        stage.assert_stock_conserved(sku, start)
        stage.assert_final(order_id)

    def test_a_charge_the_crash_left_pending_does_not_stay_pending(self, crashing_payments_stage):
        """payments stays down for a while: the order may wait, but its charge is settled."""
        stage = crashing_payments_stage
        shop, start, quantity = stage.shop, 6, 2
        sku, email = shop.new_product(stock=start), new_email()

        customer = ShopClient(stage.running.url, ADMIN_TOKEN)
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                placing = pool.submit(customer.place, email, [(sku, quantity)])
                order_id = eventually(lambda: pending_charge(shop, email), interval=0.02)
                with stage.down("payments"):
                    answer = placing.result(timeout=30)
                    assert answer.status_code == 202, answer.text
                    # Down until the re-driver has given the order up, or tried it twice.
                    eventually(lambda: given_up_or_redriven(stage, order_id, 2), REDRIVE_SECONDS)
            finally:
                customer.close()

        order = shop.wait_final(order_id, timeout=REDRIVE_SECONDS)
        assert (order["status"], order["reason"]) == ("rejected", "payment_failed"), order

        def settled() -> list[dict[str, Any]]:
            charges = shop.payments_of(order_id)
            statuses = [c["status"] for c in charges]
            assert "pending" not in statuses, f"order rejected, its charge still {statuses}"
            return charges

        charges = eventually(settled, timeout=5.0)
        assert all(c["status"] != "captured" for c in charges), charges
        assert_released(stage, sku, start)
        stage.assert_stock_conserved(sku, start)
        stage.assert_final(order_id)


# --- 6. notifications down -------------------------------------------------------------------


def test_notifications_down_confirms_and_notifies_later(stage: Stage):
    shop, start = stage.shop, 5
    sku, email = shop.new_product(stock=start), new_email()

    with stage.down("notifications"):
        answer = shop.place(email, [(sku, 2)])
        assert answer.status_code == 202, answer.text
        order = shop.wait_final(answer.json()["id"], timeout=REDRIVE_SECONDS)
        assert order["status"] == "confirmed", order
        assert shop.stock(sku) == {"sku": sku, "available": 3, "reserved": 0, "sold": 2}

    # notifications is back: the re-driver tells the customer, once.
    def notified() -> list[dict[str, Any]]:
        messages = shop.notifications_of(email)
        assert messages, f"no notification for {email} yet"
        return messages

    messages = eventually(notified, timeout=REDRIVE_SECONDS)
    assert [(m["order_id"], m["kind"]) for m in messages] == [(order["id"], "order_confirmed")]
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order["id"])


# --- 7. the request id travels -----------------------------------------------------------------


def test_gateway_passes_the_request_id_to_every_service(stage: Stage):
    shop, start = stage.shop, 5
    sku, email, request_id = shop.new_product(stock=start), new_email(), new_request_id()

    answer = shop.post(
        "/api/orders", json=order_body(email, [(sku, 1)]), headers={"X-Request-ID": request_id}
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers.get("X-Request-ID") == request_id, dict(answer.headers)
    order = shop.wait_final(answer.json()["id"])
    assert order["status"] == "confirmed", order

    def logged_by() -> set[str]:
        names = {line.split(" | ", 1)[0] for line in stage.log_lines() if request_id in line}
        missing = {"orders", "inventory", "payments"} - names
        assert not missing, f"no line with {request_id} from {sorted(missing)}"
        return names

    eventually(logged_by, timeout=5.0)
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order["id"])


# --- 8. payments paused while many orders are in flight (issue 8) ---------------------------

PAUSE_SECONDS = 5.0
IN_FLIGHT = 30


@pytest.fixture(scope="class", params=DATABASES)  # always both: it is about concurrency
def flaky_payments_stage(request, tmp_path_factory):
    """A provider that fails 30% of charges and takes 200 ms for each."""
    env = {"payments": {"PAYMENT_FAILURE_RATE": "0.3", "PAYMENT_LATENCY_MS": "200"}}
    data_dir = tmp_path_factory.mktemp(f"flaky-payments-{request.param}")
    with microservices_stage(data_dir, env, request.param) as running:
        yield running


def reservation_statuses(stage: Stage, order_ids: list[str]) -> dict[str, str]:
    """Each order's reservation status, read from inventory's own database."""
    database = stage.database("inventory")
    try:
        with database.reading() as session:
            store = InventoryStore(session)
            found = {order_id: store.reservation(order_id) for order_id in order_ids}
    finally:
        database.dispose()
    return {order_id: str(r.status) if r else "none" for order_id, r in found.items()}


# What an order's outcome must have done to its reservation: its stock moved once, this way.
RESERVATION_OF = {
    ("confirmed", None): "committed",
    ("rejected", "out_of_stock"): "rejected",
    ("rejected", "payment_declined"): "released",
    ("rejected", "payment_failed"): "released",
}


class TestPaymentsPausedWithOrdersInFlight:
    def test_every_order_settles_once(self, flaky_payments_stage):
        """Payments frozen (SIGSTOP) for 5 s while 30 orders are placed, two orders replicas:
        POSTs outlive the re-drive threshold, so the live sagas and both replicas'
        re-drivers meet on the same orders."""
        stage = flaky_payments_stage
        with stage.replica("orders"):
            self.place_pause_and_check(stage)

    def place_pause_and_check(self, stage: Stage) -> None:
        shop, start = stage.shop, 14
        skus = [shop.new_product(stock=start) for _ in range(3)]
        email = new_email()
        wanted = [
            (
                [(skus[n % 3], 1 + n % 2), (skus[(n + 1) % 3], 1)],
                "tok_decline" if n % 7 == 3 else "tok_visa",
            )
            for n in range(IN_FLIGHT)
        ]

        customer = ShopClient(stage.running.url, ADMIN_TOKEN)
        try:
            with ThreadPoolExecutor(max_workers=10) as pool:
                placing = [
                    pool.submit(customer.place, email, lines, token) for lines, token in wanted
                ]
                eventually(lambda: pending_charge_seen(stage, email), interval=0.02)
                stage.running.launcher.send_signal("payments", signal.SIGSTOP)
                try:
                    time.sleep(PAUSE_SECONDS)
                finally:
                    stage.running.launcher.send_signal("payments", signal.SIGCONT)
                answers = [future.result(timeout=60) for future in placing]
        finally:
            customer.close()
        assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
        placed = {a.json()["id"]: lines for a, (lines, _) in zip(answers, wanted, strict=True)}

        final = {
            order_id: shop.wait_final(order_id, timeout=REDRIVE_SECONDS) for order_id in placed
        }

        # Per order: its stock moved once, as its outcome says; nothing captured unless confirmed.
        reservations = reservation_statuses(stage, list(placed))
        for order_id, order in final.items():
            outcome = (order["status"], order["reason"])
            assert reservations[order_id] == RESERVATION_OF[outcome], (order_id, outcome)
            captured = [c for c in shop.payments_of(order_id) if c["status"] == "captured"]
            assert len(captured) == (order["status"] == "confirmed"), (outcome, captured)

        # Per sku: what is sold is exactly what the confirmed orders bought.
        sold = Counter()
        for order_id, lines in placed.items():
            if final[order_id]["status"] == "confirmed":
                sold.update(dict(lines))
        for sku in skus:
            expected = {
                "sku": sku,
                "available": start - sold[sku],
                "reserved": 0,
                "sold": sold[sku],
            }
            assert shop.stock(sku) == expected

        # Exactly one message per order, telling its final outcome.
        def one_message_each() -> None:
            kinds = Counter((m["order_id"], m["kind"]) for m in shop.notifications_of(email))
            told = {(order_id, f"order_{o['status']}"): 1 for order_id, o in final.items()}
            assert kinds == told, kinds - Counter(told) or Counter(told) - kinds

        eventually(one_message_each, timeout=REDRIVE_SECONDS)
        orders_lines = stage.log_lines("orders") + stage.log_lines("orders-2")
        refusals = [line for line in orders_lines if " refused: " in line]
        assert not refusals, refusals[:5]
        errors = [line for line in orders_lines if "answered 500" in line]
        assert not errors, errors[:5]


def pending_charge_seen(stage: Stage, email: str) -> None:
    """Some order of the customer has reached payments (its charge is open)."""
    for order in stage.shop.orders_of(email):
        if stage.shop.payments_of(order["id"]):
            return
    raise AssertionError(f"no charge opened yet for {email}")
