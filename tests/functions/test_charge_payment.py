"""charge-payment: a duplicate that comes during the charge waits its turn.

The function is served by its own middleware (func-python's ASGIApplication, as
`python -m functions.charge_payment` serves it) in this process, with a provider
whose wait is a gate the test opens: the first delivery is held inside the
provider for exactly as long as the test needs, so the duplicate surely comes
while the charge is pending, on a machine of any speed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import func_python.cloudevent
import httpx
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_binary_event

from functions.charge_payment.func import ChargePayment
from functions.runtime.saga_events import STOCK_RESERVED, new_event
from shop.domain.payments import ProviderSettings, SimulatedProvider
from shop.persistence.migrate import upgrade

GENEROUS = 30.0  # seconds a held step may take on a busy machine before the test gives up


class HeldProvider:
    """The provider's latency as a gate: `charging` is set once a charge waits in it,
    and it waits until `release` is set."""

    def __init__(self) -> None:
        self.charging = threading.Event()
        self.release = threading.Event()

    def sleep(self, _seconds: float) -> None:
        self.charging.set()
        assert self.release.wait(GENEROUS), "the test never released the charge"


@pytest.fixture
def charge_payment(tmp_path, monkeypatch) -> Iterator[tuple[ChargePayment, HeldProvider]]:
    database = f"sqlite:///{tmp_path / 'payments.sqlite'}"
    upgrade(database, ["payments"])
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", database)
    function = ChargePayment()
    function.start()
    held = HeldProvider()
    # latency_ms > 0 so that every charge waits, in the held sleep
    function.provider = SimulatedProvider(ProviderSettings(latency_ms=1), sleep=held.sleep)
    try:
        yield function, held
    finally:
        held.release.set()
        function.stop()


def _message(order_id: str):
    data = {"order_id": order_id, "lines": {"TF-0001": 1}, "amount_cents": 990,
            "currency": "EUR", "payment_token": "tok_visa"}  # fmt: skip
    return to_binary_event(new_event(STOCK_RESERVED, order_id, data, "test"))


def _reply(answer: httpx.Response):
    return from_http_event(HTTPMessage(headers=dict(answer.headers), body=answer.content))


def test_a_duplicate_during_the_charge_is_told_to_retry_and_then_gets_the_same_reply(
    charge_payment,
):
    function, held = charge_payment
    message = _message("ord_duplicate_during_charge")
    app = func_python.cloudevent.ASGIApplication(function)

    async def deliver(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/", headers=message.headers, content=message.body)

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://charge") as client:
            first = asyncio.create_task(deliver(client))
            charging = await asyncio.to_thread(held.charging.wait, GENEROUS)
            assert charging, "the first delivery never reached the provider"
            second = await deliver(client)  # the charge is pending: the first is held
            held.release.set()
            return await first, second, await deliver(client)

    first, second, again = asyncio.run(scenario())
    assert first.status_code == 200
    assert second.status_code == 503  # not a cancel: the broker will deliver it again
    reply = _reply(first)
    assert reply.get_type() == "shop.payment.succeeded"
    assert again.status_code == 200
    assert _reply(again).get_attributes() == reply.get_attributes()
