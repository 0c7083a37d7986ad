"""Fault tests of the functions stage: real processes, real HTTP, real CloudEvents.

A function or the broker is killed (SIGKILL) and started again, an event is delivered
twice, a charge is declined: whatever happens, the promises of the README's "Stage 3:
functions" must hold (exactly-once effects on at-least-once delivery, no event lost
between a write and its publication), and every test ends by checking two of them:

- stock is conserved: available + reserved + sold of the test's product is its
  starting stock (read through the gateway, GET /api/stock/{sku});
- no order is left pending: the test's order is confirmed or rejected.

The stage is asynchronous (place-order answers 202 pending, the events finish the
order), so every check of an outcome polls until a deadline, a generous one: no test
depends on how fast the machine is (the suite passes with the machine busy, two runs
at once), only on the order in which things happen. The broker delivers with
the settings of k8s/functions/*.yaml as they are; only the re-drive is made fast
(tests/faults/functions_stage.py). One stage on SQLite serves the module; the tests of
the re-drive run on PostgreSQL too (`db_stage`). Each test makes its own product and
customer email and looks only at its own order's events.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from functions.runtime import saga_events
from functions.runtime.event_payloads import outcome_event, placed_event
from shop.domain.orders import Order, OrderLine, RejectReason, new_order_id
from shop.schemas import OrderOut
from stages.definitions import DATABASES
from tests.faults.functions_stage import FunctionsStage, functions_stage, reply_event
from tests.functions.log_reading import entries, messages
from tests.support.client import new_email
from tests.support.postgres import fresh_databases
from tests.support.waiting import eventually

# How long the re-drive (a ping every second, for orders pending > 2 s) may take: a
# deadline for polling, generous for a busy machine (a pass takes a few seconds).
REDRIVE_SECONDS = 60.0
# The trigger of charge-payment sets retry 3 (k8s/functions/triggers.yaml): 4 attempts.
CHARGE_TRIGGER, CHARGE_ATTEMPTS = "charge-payment-on-stock-reserved", 4
NOTIFY_TRIGGER = "notify-customer-on-order-confirmed"
COMMIT_TRIGGER = "commit-stock-on-order-confirmed"
RELEASE_TRIGGER = "release-stock-on-order-rejected"
# The broker's default delivery: 5 retries from 0.2 s, doubling, each wait up to 20%
# longer (jitter): a dead letter about 7.5 s after the first attempt (charge-payment's
# trigger: 3 retries from 0.5 s, about 4 s). A deadline for polling, as generous.
DEAD_LETTER_SECONDS = 45.0


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> Iterator[FunctionsStage]:
    """The functions stage without injected faults, shared by the module's tests."""
    with functions_stage(tmp_path_factory.mktemp("functions-faults")) as running:
        yield running


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_stage(request, tmp_path_factory) -> Iterator[FunctionsStage]:
    """The stage on SQLite (the module's) or on fresh PostgreSQL databases."""
    if request.param == "sqlite":
        yield request.getfixturevalue("stage")
        return
    with (
        fresh_databases(*DATABASES["functions"]) as urls,
        functions_stage(tmp_path_factory.mktemp("functions-pg"), database_urls=urls) as running,
    ):
        yield running


def own_order(sku: str, quantity: int, token: str = "tok_visa") -> Order:
    """An order of the test's own that only the event functions ever hear of."""
    return Order(
        id=new_order_id(),
        email=new_email(),
        payment_token=token,
        currency="EUR",
        lines=[OrderLine(sku, quantity, 1250)],
    )


def event_view(event) -> tuple[dict[str, Any], Any]:
    """The event's attributes and data, but its trace context: a reply answered again
    carries the trace of the delivery it answers."""
    attributes = {
        name: value
        for name, value in event.get_attributes().items()
        if name not in saga_events.TRACE_EXTENSIONS
    }
    return attributes, saga_events.data_of(event)


def sold(stage: FunctionsStage, sku: str, start: int, quantity: int) -> None:
    """The confirmed order's stock has been committed (commit-stock runs after the order
    is confirmed, so this is polled)."""
    expected = {"sku": sku, "available": start - quantity, "reserved": 0, "sold": quantity}
    assert stage.shop.stock(sku) == expected


def released(stage: FunctionsStage, sku: str, start: int) -> None:
    assert stage.shop.stock(sku) == {"sku": sku, "available": start, "reserved": 0, "sold": 0}


def notified(stage: FunctionsStage, email: str) -> list[dict[str, Any]]:
    messages = stage.shop.notifications_of(email)
    assert messages, f"no notification for {email} yet"
    return messages


def log_count(stage: FunctionsStage, process: str, text: str) -> int:
    return sum(text in line for line in messages(stage.log, process))


def logged(stage: FunctionsStage, process: str, text: str, times: int | None = None) -> int:
    """How often `process` logged `text`: at least once, or exactly `times`."""
    count = log_count(stage, process, text)
    assert count == times if times is not None else count >= 1, (
        f"{process} logged {text!r} {count} times"
    )
    return count


def delivery_lines(stage: FunctionsStage, event_id: str, trigger: str) -> list[str]:
    """The broker's log lines of every attempt to deliver `event_id` through `trigger`."""
    return [
        entry["message"]
        for entry in entries(stage.log, "broker")
        if entry.get("level") == "INFO"
        and entry["message"].startswith("delivery ")
        and f" id={event_id} " in entry["message"]
        and f"={trigger} " in entry["message"]
    ]


def retried_since(stage: FunctionsStage, trigger: str, before: int) -> dict[str, int]:
    stats = stage.trigger_stats(trigger)
    assert stats.get("retried", 0) > before, stats
    return stats


def placed_confirmed(stage: FunctionsStage, sku: str, quantity: int) -> dict[str, Any]:
    """An order placed through the gateway, confirmed, its stock sold, its customer told."""
    email, start = new_email(), stage.shop.stock(sku)
    order = stage.shop.place_and_wait(email, [(sku, quantity)])
    assert order["status"] == "confirmed", order
    eventually(lambda: sold(stage, sku, start["available"], quantity))
    eventually(lambda: notified(stage, email))
    return order


# --- 1. the same event delivered twice applies once ------------------------------------------


def test_same_event_posted_twice_to_a_function_applies_once(stage: FunctionsStage):
    """Straight to the functions' own URLs, as the broker delivers: the order is the test's
    own and never reaches the orders database, so only the stock is there to check."""
    shop, start = stage.shop, 10
    sku = shop.new_product(stock=start)
    order = own_order(sku, 3)
    placed = placed_event(order, "fault-suite")

    first = stage.post_event("reserve-stock", placed)
    again = stage.post_event("reserve-stock", placed)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    reply = reply_event(first)
    assert reply.get_type() == saga_events.STOCK_RESERVED, event_view(reply)
    assert reply.get_id() == f"{order.id}:{saga_events.STOCK_RESERVED}"
    assert event_view(reply_event(again)) == event_view(reply), (first.text, again.text)
    assert shop.stock(sku) == {"sku": sku, "available": 7, "reserved": 3, "sold": 0}

    # The compensation, delivered twice too: released once, nothing made up, and the
    # same acknowledgement both times.
    order.reject(RejectReason.PAYMENT_DECLINED)
    rejected = outcome_event(order, "fault-suite")
    first = stage.post_event("release-stock", rejected)
    again = stage.post_event("release-stock", rejected)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    ack = reply_event(first)
    assert (ack.get_type(), ack.get_id()) == (
        saga_events.STOCK_RELEASED,
        f"{order.id}:{saga_events.STOCK_RELEASED}",
    )
    assert event_view(reply_event(again)) == event_view(ack)
    released(stage, sku, start)
    stage.assert_stock_conserved(sku, start)


def test_duplicate_order_placed_through_the_broker_changes_nothing(stage: FunctionsStage):
    shop, start, quantity = stage.shop, 5, 2
    sku = shop.new_product(stock=start)
    order = placed_confirmed(stage, sku, quantity)
    email = order["email"]
    stock, charges = shop.stock(sku), shop.payments_of(order["id"])
    messages = shop.notifications_of(email)
    confirmed_id = f"{order['id']}:{saga_events.ORDER_CONFIRMED}"
    seen = f"{confirmed_id} seen before: same reply"
    replayed = {name: log_count(stage, name, seen) for name in ("notify-customer", "commit-stock")}

    # The order's own shop.order.placed again (same id, as a re-drive publishes it).
    again = OrderOut.model_validate(order).to_domain()
    again.payment_token = "tok_visa"
    stage.publish(placed_event(again, "fault-suite"))

    def replayed_to_the_end() -> None:
        for name, before in replayed.items():
            assert log_count(stage, name, seen) > before, f"{name} has not had {confirmed_id}"

    eventually(replayed_to_the_end)
    assert shop.stock(sku) == stock
    sold(stage, sku, start, quantity)
    assert shop.payments_of(order["id"]) == charges
    assert [c["status"] for c in charges] == ["captured"], charges
    assert shop.notifications_of(email) == messages
    assert [(m["order_id"], m["kind"]) for m in messages] == [(order["id"], "order_confirmed")]
    stage.assert_stock_conserved(sku, start)
    assert stage.assert_final(order["id"]) == order


# --- 2. a subscriber that fails, then recovers, gets the event on retry ----------------------


def test_subscriber_down_then_back_gets_the_event_on_retry(stage: FunctionsStage):
    shop, start, quantity = stage.shop, 5, 2
    sku, email = shop.new_product(stock=start), new_email()
    retried_before = stage.trigger_stats(NOTIFY_TRIGGER).get("retried", 0)

    with stage.down("notify-customer"):
        answer = shop.place(email, [(sku, quantity)])
        assert answer.status_code == 202, answer.text
        order = shop.wait_final(answer.json()["id"])
        assert order["status"] == "confirmed", order
        confirmed_id = f"{order['id']}:{saga_events.ORDER_CONFIRMED}"

        def refused() -> None:
            attempts = delivery_lines(stage, confirmed_id, NOTIFY_TRIGGER)
            assert attempts, f"no delivery of {confirmed_id} to notify-customer yet"
            assert "attempt=1/6 outcome=ConnectError" in attempts[0], attempts

        eventually(refused)
    # Started again as soon as the first attempt was refused. Its port is bound again the
    # moment the restart begins (the launcher binds it, stages/listeners.py), so the
    # broker's next attempt waits in the socket's backlog until the function serves it
    # (up to the trigger's 10 s timeout, then the later retries): how long the function
    # takes to start does not decide whether a retry reaches it.

    messages = eventually(lambda: notified(stage, email))
    assert [(m["order_id"], m["kind"]) for m in messages] == [(order["id"], "order_confirmed")]

    def delivered_on_a_retry() -> list[str]:
        attempts = delivery_lines(stage, confirmed_id, NOTIFY_TRIGGER)
        outcome = attempts[-1].split(" outcome=")[1]
        assert outcome.startswith(f"200 reply {saga_events.CUSTOMER_NOTIFIED} "), attempts
        assert len(attempts) > 1, attempts
        return attempts

    eventually(delivered_on_a_retry)
    stats = eventually(lambda: retried_since(stage, NOTIFY_TRIGGER, retried_before))
    assert stats.get("dead_lettered", 0) == 0, stats
    assert not [d for d in stage.dead_letters() if d["event"]["id"] == confirmed_id]
    assert shop.notifications_of(email) == messages  # still once
    eventually(lambda: sold(stage, sku, start, quantity))
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order["id"])


# --- 3. an event that always fails lands in the dead-letter sink -----------------------------


def test_event_that_always_fails_is_dead_lettered_then_redriven(stage: FunctionsStage):
    shop, start, quantity = stage.shop, 5, 2
    sku, email = shop.new_product(stock=start), new_email()

    with stage.down("charge-payment"):
        answer = shop.place(email, [(sku, quantity)])
        assert answer.status_code == 202, answer.text
        order_id = answer.json()["id"]
        reserved_id = f"{order_id}:{saga_events.STOCK_RESERVED}"

        def dead_lettered() -> dict[str, Any]:
            found = [d for d in stage.dead_letters() if d["event"]["id"] == reserved_id]
            assert found, f"{reserved_id} is not a dead letter yet"
            return found[0]

        dead = eventually(dead_lettered, timeout=DEAD_LETTER_SECONDS)
        # Still down: the order waits, its stock held.
        assert shop.get(f"/api/orders/{order_id}").json()["status"] == "pending"
        assert shop.stock(sku)["reserved"] == quantity

    charge_url = stage.url("charge-payment")
    assert dead["trigger"] == CHARGE_TRIGGER, dead
    assert dead["subscriber"] == charge_url, dead
    assert dead["attempts"] == CHARGE_ATTEMPTS, dead
    assert dead["code"] == 0, dead  # no HTTP answer at all: the connection was refused
    event = dead["event"]
    assert (event["type"], event["subject"]) == (saga_events.STOCK_RESERVED, order_id), event
    assert event["data"]["order_id"] == order_id, event
    assert event["knativeerrordest"] == charge_url, event
    assert event["knativeerrorcode"] == 0, event
    assert base64.b64decode(event["knativeerrordata"]).decode().startswith("ConnectError"), event
    assert stage.trigger_stats(CHARGE_TRIGGER).get("dead_lettered", 0) >= 1

    # The broker sent it to its deadLetterSink too, the dead-letters function, which kept it.
    def kept() -> dict[str, Any]:
        found = [d for d in stage.dead_letters_kept() if d["event_id"] == reserved_id]
        assert found, f"{reserved_id} was not kept by the dead-letters function"
        return found[0]

    letter = eventually(kept, timeout=10.0)
    assert (letter["error_destination"], letter["error_code"]) == (charge_url, 0), letter
    assert letter["event"]["data"]["order_id"] == order_id, letter

    # charge-payment is back: the re-drive replays the saga, which now gets past the charge.
    order = shop.wait_final(order_id, timeout=REDRIVE_SECONDS)
    assert order["status"] == "confirmed", order
    charges = shop.payments_of(order_id)
    assert [c["status"] for c in charges] == ["captured"], charges
    eventually(lambda: sold(stage, sku, start, quantity))
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order_id)


# --- 4. a dropped shop.order.placed is re-driven ---------------------------------------------


def test_dropped_order_placed_is_redriven(db_stage: FunctionsStage):
    stage = db_stage
    shop, start, quantity = stage.shop, 5, 2
    sku, email = shop.new_product(stock=start), new_email()

    with stage.down("broker"):
        answer = shop.place(email, [(sku, quantity)])
        assert answer.status_code == 202, answer.text
        order_id = answer.json()["id"]
        assert answer.json()["status"] == "pending", answer.json()
        not_published = f"order {order_id} saved, not published"
        eventually(lambda: logged(stage, "place-order", not_published, times=1))
        assert shop.get(f"/api/orders/{order_id}").json()["status"] == "pending"
        assert shop.stock(sku)["available"] == start  # nobody has heard of the order

    order = shop.wait_final(order_id, timeout=REDRIVE_SECONDS)
    assert order["status"] == "confirmed", order
    eventually(lambda: logged(stage, "redrive-orders", f"re-drove order {order_id} "))
    assert [c["status"] for c in shop.payments_of(order_id)] == ["captured"]
    eventually(lambda: sold(stage, sku, start, quantity))
    messages = eventually(lambda: notified(stage, email))
    assert [(m["order_id"], m["kind"]) for m in messages] == [(order_id, "order_confirmed")]
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order_id)


# --- 5. a declined charge releases the stock -------------------------------------------------


def test_declined_charge_releases_the_stock(stage: FunctionsStage):
    shop, start = stage.shop, 5
    sku, email = shop.new_product(stock=start), new_email()

    order = shop.place_and_wait(email, [(sku, 3)], token="tok_decline")
    assert (order["status"], order["reason"]) == ("rejected", "payment_declined"), order
    eventually(lambda: released(stage, sku, start))
    charges = shop.payments_of(order["id"])
    assert [c["status"] for c in charges] == ["declined"], charges
    messages = eventually(lambda: notified(stage, email))
    assert [(m["order_id"], m["kind"]) for m in messages] == [(order["id"], "order_rejected")]
    stage.assert_stock_conserved(sku, start)
    stage.assert_final(order["id"])


# --- 6. a step after the order is final, lost, is finished by the re-drive -------------------


def dead_letter(stage: FunctionsStage, event_id: str, trigger: str) -> dict[str, Any]:
    found = [
        d for d in stage.dead_letters() if d["event"]["id"] == event_id and d["trigger"] == trigger
    ]
    assert found, f"{event_id} is not a dead letter of {trigger} yet"
    return found[0]


def owes(stage: FunctionsStage, order_id: str, steps: set[str]) -> None:
    assert stage.owed(order_id) == steps


def redriven(stage: FunctionsStage, order: dict[str, Any]) -> None:
    logged(stage, "redrive-orders", f"re-drove order {order['id']} ({order['status']}, ")


def test_every_step_after_finalize_lost_is_finished_by_the_redrive(db_stage: FunctionsStage):
    """commit-stock, release-stock and notify-customer are all down until the outcome
    events of two orders, one confirmed and one declined, are dead letters of each."""
    stage, start = db_stage, 5
    shop = stage.shop
    sold_sku, released_sku = shop.new_product(stock=start), shop.new_product(stock=start)
    buyer, declined = new_email(), new_email()

    with (
        stage.down("commit-stock"),
        stage.down("release-stock"),
        stage.down("notify-customer"),
    ):
        confirmed = shop.place_and_wait(buyer, [(sold_sku, 2)])
        rejected = shop.place_and_wait(declined, [(released_sku, 3)], token="tok_decline")
        assert confirmed["status"] == "confirmed", confirmed
        assert (rejected["status"], rejected["reason"]) == ("rejected", "payment_declined")
        confirmed_id = f"{confirmed['id']}:{saga_events.ORDER_CONFIRMED}"
        rejected_id = f"{rejected['id']}:{saga_events.ORDER_REJECTED}"
        for event_id, trigger in [
            (confirmed_id, COMMIT_TRIGGER),
            (confirmed_id, NOTIFY_TRIGGER),
            (rejected_id, RELEASE_TRIGGER),
            (rejected_id, "notify-customer-on-order-rejected"),
        ]:
            eventually(partial(dead_letter, stage, event_id, trigger), DEAD_LETTER_SECONDS)
        # Final, yet nothing after it happened: both hold their stock, nobody was told.
        assert shop.stock(sold_sku)["reserved"] == 2
        assert shop.stock(released_sku)["reserved"] == 3
        assert shop.notifications_of(buyer) == shop.notifications_of(declined) == []
        assert stage.owed(confirmed["id"]) == stage.owed(rejected["id"]) == {"stock", "customer"}

    eventually(lambda: sold(stage, sold_sku, start, 2), timeout=REDRIVE_SECONDS)
    eventually(lambda: released(stage, released_sku, start), timeout=REDRIVE_SECONDS)
    for email, order, kind in [
        (buyer, confirmed, "order_confirmed"),
        (declined, rejected, "order_rejected"),
    ]:
        messages = eventually(partial(notified, stage, email), timeout=REDRIVE_SECONDS)
        assert [(m["order_id"], m["kind"]) for m in messages] == [(order["id"], kind)]
        eventually(partial(redriven, stage, order))
        eventually(partial(owes, stage, order["id"], set()))
        stage.assert_final(order["id"])
    assert [c["status"] for c in shop.payments_of(confirmed["id"])] == ["captured"]
    assert [c["status"] for c in shop.payments_of(rejected["id"])] == ["declined"]
    stage.assert_stock_conserved(sold_sku, start)
    stage.assert_stock_conserved(released_sku, start)
