"""charge-payment as one process: a duplicate that comes during the charge waits its turn."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event

from functions.runtime.saga_events import STOCK_RESERVED, new_event
from stages.definitions import PYTHON
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port, run_step


@pytest.fixture(scope="module")
def charge_payment(tmp_path_factory):
    work = tmp_path_factory.mktemp("charge-payment")
    database = f"sqlite:///{work / 'payments.sqlite'}"
    run_step([PYTHON, "-m", "shop.persistence.migrate", "--url", database, "--context", "payments"])
    port = free_port()
    spec = ProcessSpec(
        "charge-payment",
        [PYTHON, "-m", "functions.charge_payment"],
        port,
        env={
            "LISTEN_ADDRESS": f"127.0.0.1:{port}",
            "PAYMENTS_DATABASE_URL": database,
            "PAYMENT_LATENCY_MS": "600",
        },
        ready_path="/health/readiness",
    )
    with Launcher([spec], sink=FileSink(work / "log")):
        yield spec.url


def _post(url: str, order_id: str) -> httpx.Response:
    data = {"order_id": order_id, "lines": {"TF-0001": 1}, "amount_cents": 990,
            "currency": "EUR", "payment_token": "tok_visa"}  # fmt: skip
    message = to_binary_event(new_event(STOCK_RESERVED, order_id, data, "test"))
    return httpx.post(url + "/", headers=message.headers, content=message.body, timeout=10)


def _reply(answer: httpx.Response):
    return from_http_event(HTTPMessage(headers=dict(answer.headers), body=answer.content))


def test_a_duplicate_during_the_charge_is_told_to_retry_and_then_gets_the_same_reply(
    charge_payment,
):
    order_id = "ord_duplicate_during_charge"
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_post, charge_payment, order_id)
        time.sleep(0.2)  # the first attempt is waiting for the provider now
        second = pool.submit(_post, charge_payment, order_id)
        first, second = first.result(), second.result()
    assert first.status_code == 200
    assert second.status_code == 503  # not a cancel: the broker will deliver it again
    reply = _reply(first)
    assert reply.get_type() == "shop.payment.succeeded"
    again = _post(charge_payment, order_id)
    assert again.status_code == 200
    assert _reply(again).get_attributes() == reply.get_attributes()
