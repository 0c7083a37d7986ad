"""Stock levels, their movements and the all-or-nothing reservation of an order."""

import pytest

from shop.domain.errors import DomainError, InsufficientStock, InvalidQuantity
from shop.domain.inventory import (
    MAX_RESTOCK,
    Reservation,
    ReservationStatus,
    StockLevel,
    commit_all,
    release_all,
    reserve_all,
)

BAD_QUANTITIES = [0, -1, -100, True, False, 1.0, 2.5, "1", None]


def snapshot(levels):
    return {sku: (lv.available, lv.reserved, lv.sold) for sku, lv in levels.items()}


def level(sku="MUG-001", available=0, reserved=0, sold=0):
    return StockLevel(sku, available, reserved, sold)


# --- StockLevel ----------------------------------------------------------------------------------


def test_new_level_is_empty():
    lv = StockLevel("MUG-001")
    assert (lv.available, lv.reserved, lv.sold, lv.total) == (0, 0, 0, 0)


def test_total_is_sum_of_buckets():
    assert level(available=3, reserved=4, sold=5).total == 12


def test_restock_adds_to_available():
    lv = level(available=2, reserved=1, sold=1)
    lv.restock(5)
    assert (lv.available, lv.reserved, lv.sold, lv.total) == (7, 1, 1, 9)


def test_restock_limit_boundary():
    lv = level()
    lv.restock(MAX_RESTOCK)
    assert lv.available == MAX_RESTOCK
    with pytest.raises(InvalidQuantity, match=f"at most {MAX_RESTOCK}"):
        lv.restock(MAX_RESTOCK + 1)
    assert lv.available == MAX_RESTOCK


@pytest.mark.parametrize("method", ["restock", "reserve", "release", "commit"])
@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantities_refused_and_level_unchanged(method, quantity):
    lv = level(available=10, reserved=10, sold=10)
    with pytest.raises(InvalidQuantity, match="positive whole number") as info:
        getattr(lv, method)(quantity)
    assert info.value.code == "invalid-quantity"
    assert (lv.available, lv.reserved, lv.sold) == (10, 10, 10)


def test_reserve_moves_available_to_reserved():
    lv = level(available=5)
    lv.reserve(3)
    assert (lv.available, lv.reserved, lv.sold) == (2, 3, 0)


def test_reserve_everything_available():
    lv = level(available=5)
    lv.reserve(5)
    assert (lv.available, lv.reserved) == (0, 5)


@pytest.mark.parametrize("quantity", [6, 1_000, MAX_RESTOCK + 1, 10**18])
def test_reserve_more_than_available_refused(quantity):
    lv = level(available=5, reserved=2, sold=1)
    with pytest.raises(InsufficientStock, match="MUG-001") as info:
        lv.reserve(quantity)
    assert info.value.code == "insufficient-stock"
    assert f"{quantity} wanted, 5 available" in info.value.detail
    assert (lv.available, lv.reserved, lv.sold) == (5, 2, 1)


def test_reserve_from_empty_level_refused():
    lv = level()
    with pytest.raises(InsufficientStock):
        lv.reserve(1)


def test_release_moves_reserved_back_to_available():
    lv = level(available=1, reserved=4)
    lv.release(3)
    assert (lv.available, lv.reserved, lv.sold) == (4, 1, 0)


@pytest.mark.parametrize("quantity", [5, 100, 10**18])
def test_release_more_than_reserved_refused(quantity):
    lv = level(available=100, reserved=4, sold=0)
    with pytest.raises(InsufficientStock, match="cannot release"):
        lv.release(quantity)
    assert (lv.available, lv.reserved, lv.sold) == (100, 4, 0)


def test_commit_moves_reserved_to_sold():
    lv = level(available=1, reserved=4, sold=2)
    lv.commit(4)
    assert (lv.available, lv.reserved, lv.sold) == (1, 0, 6)


@pytest.mark.parametrize("quantity", [5, 100, 10**18])
def test_commit_more_than_reserved_refused(quantity):
    lv = level(available=100, reserved=4, sold=3)
    with pytest.raises(InsufficientStock, match="cannot sell"):
        lv.commit(quantity)
    assert (lv.available, lv.reserved, lv.sold) == (100, 4, 3)


def test_commit_does_not_take_from_available():
    lv = level(available=10)
    with pytest.raises(InsufficientStock):
        lv.commit(1)
    assert (lv.available, lv.reserved, lv.sold) == (10, 0, 0)


def test_can_reserve():
    lv = level(available=3)
    assert lv.can_reserve(3) is True
    assert lv.can_reserve(1) is True
    assert lv.can_reserve(4) is False


def test_every_movement_keeps_the_invariant():
    lv = level()
    stocked = 0
    steps = [
        ("restock", 10),
        ("reserve", 4),
        ("commit", 3),
        ("release", 1),
        ("reserve", 6),
        ("restock", 7),
        ("release", 2),
        ("commit", 4),
    ]
    for method, quantity in steps:
        getattr(lv, method)(quantity)
        if method == "restock":
            stocked += quantity
        assert lv.total == stocked == lv.available + lv.reserved + lv.sold
        assert min(lv.available, lv.reserved, lv.sold) >= 0
    assert (lv.available, lv.reserved, lv.sold) == (10, 0, 7)


def test_refused_movements_keep_the_invariant():
    lv = level(available=2, reserved=1, sold=1)
    for method, quantity in [("reserve", 3), ("release", 2), ("commit", 2), ("restock", 0)]:
        with pytest.raises(DomainError):
            getattr(lv, method)(quantity)
        assert (lv.available, lv.reserved, lv.sold, lv.total) == (2, 1, 1, 4)


# --- reserve_all / release_all / commit_all ------------------------------------------------------


@pytest.fixture
def levels():
    return {
        "MUG-001": level("MUG-001", available=5),
        "TEE-002": level("TEE-002", available=2),
        "CAP-003": level("CAP-003", available=0),
    }


def test_reserve_all_holds_every_line(levels):
    lines = {"MUG-001": 3, "TEE-002": 2}
    reservation = reserve_all("ord_1", levels, lines)
    assert reservation.status is ReservationStatus.HELD
    assert reservation.reason is None
    assert reservation.order_id == "ord_1"
    assert reservation.lines == lines
    assert snapshot(levels) == {
        "MUG-001": (2, 3, 0),
        "TEE-002": (0, 2, 0),
        "CAP-003": (0, 0, 0),
    }


def test_reserve_all_copies_the_lines(levels):
    lines = {"MUG-001": 1}
    reservation = reserve_all("ord_1", levels, lines)
    lines["MUG-001"] = 99
    lines["TEE-002"] = 1
    assert reservation.lines == {"MUG-001": 1}


def test_reserve_all_one_short_sku_changes_nothing(levels):
    before = snapshot(levels)
    reservation = reserve_all("ord_1", levels, {"MUG-001": 3, "TEE-002": 3})
    assert reservation.status is ReservationStatus.REJECTED
    assert reservation.reason == "out of stock: TEE-002"
    assert reservation.lines == {"MUG-001": 3, "TEE-002": 3}
    assert snapshot(levels) == before


def test_reserve_all_names_every_short_sku_sorted(levels):
    before = snapshot(levels)
    reservation = reserve_all("ord_1", levels, {"TEE-002": 3, "MUG-001": 1, "CAP-003": 1})
    assert reservation.status is ReservationStatus.REJECTED
    assert reservation.reason == "out of stock: CAP-003, TEE-002"
    assert "MUG-001" not in reservation.reason
    assert snapshot(levels) == before


def test_reserve_all_missing_level_counts_as_short(levels):
    before = snapshot(levels)
    reservation = reserve_all("ord_1", levels, {"MUG-001": 1, "GONE-9": 1})
    assert reservation.status is ReservationStatus.REJECTED
    assert reservation.reason == "out of stock: GONE-9"
    assert snapshot(levels) == before
    assert "GONE-9" not in levels


def test_reserve_all_exact_availability_is_enough(levels):
    reservation = reserve_all("ord_1", levels, {"MUG-001": 5, "TEE-002": 2})
    assert reservation.status is ReservationStatus.HELD
    assert levels["MUG-001"].available == 0
    assert levels["TEE-002"].available == 0


@pytest.mark.parametrize("bad", [0, -1, True])
def test_reserve_all_invalid_quantity_changes_nothing(levels, bad):
    before = snapshot(levels)
    try:
        reservation = reserve_all("ord_1", levels, {"MUG-001": 1, "TEE-002": bad})
    except DomainError:
        pass
    else:
        assert reservation.status is ReservationStatus.REJECTED
    assert snapshot(levels) == before


def test_release_all_gives_everything_back_and_is_idempotent(levels):
    before = snapshot(levels)
    reservation = reserve_all("ord_1", levels, {"MUG-001": 3, "TEE-002": 1})
    release_all(reservation, levels)
    assert reservation.status is ReservationStatus.RELEASED
    assert snapshot(levels) == before
    release_all(reservation, levels)
    assert reservation.status is ReservationStatus.RELEASED
    assert snapshot(levels) == before


def test_commit_all_sells_everything_and_is_idempotent(levels):
    reservation = reserve_all("ord_1", levels, {"MUG-001": 3, "TEE-002": 1})
    commit_all(reservation, levels)
    assert reservation.status is ReservationStatus.COMMITTED
    expected = {"MUG-001": (2, 0, 3), "TEE-002": (1, 0, 1), "CAP-003": (0, 0, 0)}
    assert snapshot(levels) == expected
    commit_all(reservation, levels)
    assert reservation.status is ReservationStatus.COMMITTED
    assert snapshot(levels) == expected


def test_commit_after_release_refused(levels):
    reservation = reserve_all("ord_1", levels, {"MUG-001": 3})
    release_all(reservation, levels)
    before = snapshot(levels)
    with pytest.raises(InsufficientStock, match="ord_1") as info:
        commit_all(reservation, levels)
    assert "released" in info.value.detail
    assert reservation.status is ReservationStatus.RELEASED
    assert snapshot(levels) == before


def test_commit_of_rejected_reservation_refused(levels):
    reservation = reserve_all("ord_1", levels, {"CAP-003": 1})
    assert reservation.status is ReservationStatus.REJECTED
    before = snapshot(levels)
    with pytest.raises(InsufficientStock, match="rejected"):
        commit_all(reservation, levels)
    assert reservation.status is ReservationStatus.REJECTED
    assert snapshot(levels) == before


def test_release_of_rejected_reservation_changes_nothing(levels):
    reservation = reserve_all("ord_1", levels, {"MUG-001": 1, "CAP-003": 1})
    before = snapshot(levels)
    release_all(reservation, levels)
    assert reservation.status is ReservationStatus.REJECTED
    assert snapshot(levels) == before


def test_release_after_commit_changes_nothing(levels):
    reservation = reserve_all("ord_1", levels, {"MUG-001": 2})
    commit_all(reservation, levels)
    before = snapshot(levels)
    release_all(reservation, levels)
    assert reservation.status is ReservationStatus.COMMITTED
    assert snapshot(levels) == before


def test_two_orders_compete_for_the_last_units(levels):
    first = reserve_all("ord_1", levels, {"TEE-002": 2})
    second = reserve_all("ord_2", levels, {"TEE-002": 1, "MUG-001": 1})
    assert first.status is ReservationStatus.HELD
    assert second.status is ReservationStatus.REJECTED
    assert second.reason == "out of stock: TEE-002"
    assert levels["MUG-001"].available == 5
    release_all(first, levels)
    third = reserve_all("ord_3", levels, {"TEE-002": 1, "MUG-001": 1})
    assert third.status is ReservationStatus.HELD


def test_saga_keeps_total_of_every_level(levels):
    totals = {sku: lv.total for sku, lv in levels.items()}
    levels["CAP-003"].restock(4)
    totals["CAP-003"] += 4
    a = reserve_all("ord_a", levels, {"MUG-001": 2, "CAP-003": 4})
    b = reserve_all("ord_b", levels, {"MUG-001": 3, "TEE-002": 2})
    c = reserve_all("ord_c", levels, {"MUG-001": 1})  # nothing left
    assert [r.status for r in (a, b, c)] == [
        ReservationStatus.HELD,
        ReservationStatus.HELD,
        ReservationStatus.REJECTED,
    ]
    commit_all(a, levels)
    release_all(b, levels)
    release_all(c, levels)
    commit_all(a, levels)
    release_all(b, levels)
    assert {sku: lv.total for sku, lv in levels.items()} == totals
    assert snapshot(levels) == {
        "MUG-001": (3, 0, 2),
        "TEE-002": (2, 0, 0),
        "CAP-003": (0, 0, 4),
    }


def test_reservation_status_values():
    assert [s.value for s in ReservationStatus] == ["held", "rejected", "released", "committed"]
    assert Reservation("o", {}, ReservationStatus.HELD).reason is None
