"""The shared use cases on a real database: idempotency keys and no oversell."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shop.domain.catalog import Product
from shop.domain.inventory import ReservationStatus
from shop.domain.orders import new_order_id, price_order
from shop.domain.payments import ChargeDecision, ChargeStatus
from shop.usecases import catalog, inventory, notifications, orders, payments


class CountingProvider:
    """A provider that approves and counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def decide(self, token: str, amount_cents: int) -> ChargeDecision:
        self.calls += 1
        return ChargeDecision(ChargeStatus.CAPTURED)


def _stocked(database, sku: str, units: int) -> None:
    with database.writing() as session:
        catalog.create_product(session, Product(sku, "Thing", "", 250, "EUR"))
        inventory.track(session, sku)
        inventory.restock(session, sku, units)


def test_reserve_with_the_same_order_id_holds_once(database):
    _stocked(database, "IT-0001", 5)
    order_id = new_order_id()
    for _ in range(3):
        with database.writing() as session:
            reservation = inventory.reserve(session, order_id, {"IT-0001": 2})
        assert reservation.status is ReservationStatus.HELD
    with database.reading() as session:
        level = inventory.get_stock(session, "IT-0001")
    assert (level.available, level.reserved, level.sold) == (3, 2, 0)


def test_release_and_commit_apply_once(database):
    _stocked(database, "IT-0002", 5)
    released, sold = new_order_id(), new_order_id()
    with database.writing() as session:
        inventory.reserve(session, released, {"IT-0002": 1})
        inventory.reserve(session, sold, {"IT-0002": 2})
    for _ in range(2):
        with database.writing() as session:
            inventory.release(session, released)
            inventory.commit(session, sold)
    with database.reading() as session:
        level = inventory.get_stock(session, "IT-0002")
    assert (level.available, level.reserved, level.sold) == (3, 0, 2)


def test_a_rejected_reservation_is_remembered_and_changes_nothing(database):
    _stocked(database, "IT-0003", 1)
    order_id = new_order_id()
    with database.writing() as session:
        first = inventory.reserve(session, order_id, {"IT-0003": 2})
    with database.writing() as session:
        inventory.restock(session, "IT-0003", 5)
        again = inventory.reserve(session, order_id, {"IT-0003": 2})
    assert first.status is again.status is ReservationStatus.REJECTED
    with database.reading() as session:
        assert inventory.get_stock(session, "IT-0003").available == 6


def test_charge_asks_the_provider_once_per_order(database):
    _stocked(database, "IT-0004", 5)
    provider = CountingProvider()
    with database.reading() as session:
        products = catalog.products_for(session, ["IT-0004"])
    order = price_order("ada@example.com", "tok_visa", [("IT-0004", 2)], products)
    with database.writing() as session:
        orders.add(session, order)
    for _ in range(3):
        with database.writing() as session:
            charge = payments.charge(session, provider, order)
    assert provider.calls == 1
    assert charge.captured and charge.amount_cents == 500
    with database.reading() as session:
        assert len(payments.charges_for_order(session, order.id)) == 1


def test_notify_records_one_message_per_outcome(database):
    order = price_order(
        "bo@example.com",
        "tok_visa",
        [("IT-0005", 1)],
        {"IT-0005": Product("IT-0005", "X", "", 100, "EUR")},
    )
    order.confirm()
    for _ in range(3):
        with database.writing() as session:
            notifications.notify(session, order)
    with database.reading() as session:
        found = notifications.for_email(session, "bo@example.com")
    assert [n.message.kind for n in found] == ["order_confirmed"]


def test_concurrent_reservations_never_oversell(database):
    _stocked(database, "IT-0006", 7)

    def reserve(_):
        with database.writing() as session:
            return inventory.reserve(session, new_order_id(), {"IT-0006": 2}).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(reserve, range(12)))
    assert statuses.count(ReservationStatus.HELD) == 3
    with database.reading() as session:
        level = inventory.get_stock(session, "IT-0006")
    assert (level.available, level.reserved) == (1, 6)


def test_concurrent_tracking_of_one_sku_makes_one_level(database):
    def track(_):
        with database.writing() as session:
            return inventory.track(session, "IT-0007").sku

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(track, range(16))) == ["IT-0007"] * 16
    with database.reading() as session:
        assert inventory.get_stock(session, "IT-0007").available == 0
