"""Each service counts what it committed, once: the saga's retries of a call (answered
again, unchanged) move no counter. And /metrics names requests by route template."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from microservices.common.settings import ServiceSettings
from microservices.inventory.app import create_app as inventory_app
from microservices.notifications.app import create_app as notifications_app
from microservices.payments.app import create_app as payments_app
from shop.domain.catalog import Product
from shop.domain.orders import PaymentOutcome, new_order_id, price_order
from shop.domain.payments import DECLINE_TOKEN
from shop.persistence.migrate import upgrade
from shop.schemas import OrderOut
from shop.usecases import inventory
from tests.microservices.in_process import kept_logging

SKU = "CNT-0001"
Scenario = Callable[[httpx.AsyncClient], Awaitable[None]]


def _run(tmp_path: Path, name: str, factory, scenario: Scenario) -> None:
    """`scenario` against the service (its lifespan started) on a fresh database."""
    url = f"sqlite:///{tmp_path / name}.sqlite"
    upgrade(url, [name])
    with kept_logging():
        app = factory(ServiceSettings(database_url=url))

    async def main() -> None:
        async with app.router.lifespan_context(app):
            if name == "inventory":
                with app.state.database.writing() as session:
                    inventory.track(session, SKU)
                    inventory.restock(session, SKU, 2)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                await scenario(client)

    asyncio.run(main())


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _moves(name: str, label: str, values: list[str]) -> Callable[[], dict[str, float]]:
    """A function answering how much each labelled counter moved since this call."""
    before = {v: _count(name, **{label: v}) for v in values}
    return lambda: {v: _count(name, **{label: v}) - before[v] for v in values}


def test_inventory_counts_each_reservation_change_once(tmp_path):
    results = ["reserved", "rejected", "released", "committed"]
    moved = _moves("shop_stock_reservations_total", "result", results)

    a, b, c = new_order_id(), new_order_id(), new_order_id()

    async def scenario(client: httpx.AsyncClient) -> None:
        for order_id, quantity in ((a, 1), (b, 1), (c, 5)):
            for _ in range(2):  # the saga's retry of the same call
                answer = await client.post(
                    "/internal/reservations", json={"order_id": order_id, "lines": {SKU: quantity}}
                )
                assert answer.status_code == 200, answer.text
        for order_id, action in ((a, "commit"), (b, "release")):
            for _ in range(2):
                answer = await client.post(f"/internal/reservations/{order_id}/{action}")
                assert answer.status_code == 200, answer.text
        unknown = new_order_id()
        assert (await client.post(f"/internal/reservations/{unknown}/commit")).status_code == 404
        page = (await client.get("/metrics")).text
        assert 'route="/internal/reservations/{order_id}/commit"' in page

    _run(tmp_path, "inventory", inventory_app, scenario)
    assert moved() == {"reserved": 2, "rejected": 1, "released": 1, "committed": 1}


def test_payments_counts_each_outcome_once(tmp_path):
    moved = _moves("shop_payments_total", "outcome", ["captured", "declined", "failed"])
    money = {"amount_cents": 500, "currency": "EUR"}
    a, b, c = new_order_id(), new_order_id(), new_order_id()

    async def scenario(client: httpx.AsyncClient) -> None:
        for order_id, token in ((a, "tok_visa"), (b, DECLINE_TOKEN)):
            for _ in range(2):
                charge = {"order_id": order_id, "payment_token": token, **money}
                assert (await client.post("/internal/charges", json=charge)).status_code == 200
        for order_id in (a, c, c):  # a final charge stays as it is; none becomes failed
            answer = await client.post(f"/internal/charges/{order_id}/cancel", json=money)
            assert answer.status_code == 200, answer.text

    _run(tmp_path, "payments", payments_app, scenario)
    assert moved() == {"captured": 1, "declined": 1, "failed": 1}


def test_notifications_counts_a_message_once(tmp_path):
    before = _count("shop_notifications_sent_total")
    products = {SKU: Product(SKU, "Mug", "", 500, "EUR")}
    placed = price_order("a@example.com", "tok_visa", [(SKU, 1)], products)
    placed.settle(PaymentOutcome.CAPTURED)
    order = OrderOut.of(placed).model_dump(mode="json")

    async def scenario(client: httpx.AsyncClient) -> None:
        for _ in range(2):
            answer = await client.post("/internal/notifications", json={"order": order})
            assert answer.status_code == 200, answer.text

    _run(tmp_path, "notifications", notifications_app, scenario)
    assert _count("shop_notifications_sent_total") == before + 1
