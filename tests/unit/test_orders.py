"""Order lines, pricing, ids, e-mail addresses and the order state machine."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from shop.domain import orders
from shop.domain.catalog import MAX_PRICE_CENTS, Product
from shop.domain.errors import DomainError, InvalidOrder, InvalidTransition, UnknownSku
from shop.domain.money import MAX_SAFE_CENTS, is_valid_cents
from shop.domain.orders import (
    MAX_LINES,
    MAX_ORDER_TOTAL_CENTS,
    MAX_QUANTITY,
    Order,
    OrderLine,
    OrderStatus,
    RejectReason,
    is_order_id,
    is_valid_email,
    merge_lines,
    new_order_id,
    price_order,
)

EMAIL = "ada@example.com"
TOKEN = "tok_visa"
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def product(sku, price_cents=1000, currency="EUR"):
    return Product(sku, f"Product {sku}", "", price_cents, currency)


@pytest.fixture
def catalog():
    return {
        "MUG-001": product("MUG-001", 1299),
        "TEE-002": product("TEE-002", 1999),
        "CAP-003": product("CAP-003", 333),
        "USD-004": product("USD-004", 500, "USD"),
    }


def pending_order(**overrides):
    fields = {
        "id": "ord_" + "a" * 22,
        "email": EMAIL,
        "payment_token": TOKEN,
        "currency": "EUR",
        "lines": [OrderLine("MUG-001", 2, 1299)],
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    return Order(**fields)


# --- merge_lines ---------------------------------------------------------------------------------


def test_merge_lines_keeps_distinct_lines():
    assert merge_lines([("MUG-001", 1), ("TEE-002", 3)]) == {"MUG-001": 1, "TEE-002": 3}


def test_merge_lines_sums_duplicate_skus():
    merged = merge_lines([("MUG-001", 1), ("TEE-002", 3), ("MUG-001", 4), ("MUG-001", 5)])
    assert merged == {"MUG-001": 10, "TEE-002": 3}
    assert list(merged) == ["MUG-001", "TEE-002"]  # first-seen order


def test_merge_lines_accepts_any_iterable():
    assert merge_lines(iter([("MUG-001", 2), ("MUG-001", 2)])) == {"MUG-001": 4}


@pytest.mark.parametrize("quantity", [0, -1, -100, True, False, 1.0, 2.5, "1", None])
def test_merge_lines_rejects_bad_quantity(quantity):
    with pytest.raises(InvalidOrder, match="quantity of MUG-001 must be a whole number") as info:
        merge_lines([("TEE-002", 1), ("MUG-001", quantity)])
    assert info.value.code == "invalid-order"


def test_merge_lines_negative_quantity_cannot_cancel_a_duplicate():
    with pytest.raises(InvalidOrder):
        merge_lines([("MUG-001", 150), ("MUG-001", -60)])


def test_merge_lines_rejects_empty_order():
    with pytest.raises(InvalidOrder, match="at least one line"):
        merge_lines([])


def test_merge_lines_exactly_max_lines_ok():
    lines = [(f"SKU-{i:03d}", 1) for i in range(MAX_LINES)]
    assert len(merge_lines(lines)) == MAX_LINES == 20


def test_merge_lines_more_than_max_lines_rejected():
    lines = [(f"SKU-{i:03d}", 1) for i in range(MAX_LINES + 1)]
    with pytest.raises(InvalidOrder, match=f"at most {MAX_LINES} lines, got {MAX_LINES + 1}"):
        merge_lines(lines)


def test_merge_lines_max_quantity_boundary():
    assert MAX_QUANTITY == 100
    assert merge_lines([("MUG-001", MAX_QUANTITY)]) == {"MUG-001": MAX_QUANTITY}
    with pytest.raises(InvalidOrder, match="at most 100 units of MUG-001 per order, got 101"):
        merge_lines([("MUG-001", MAX_QUANTITY + 1)])


def test_merge_lines_limit_applies_to_merged_quantity():
    assert merge_lines([("MUG-001", 60), ("MUG-001", 40)]) == {"MUG-001": 100}
    with pytest.raises(InvalidOrder, match="got 120"):
        merge_lines([("MUG-001", 60), ("MUG-001", 60)])
    with pytest.raises(InvalidOrder, match="got 101"):
        merge_lines([("TEE-002", 100), ("MUG-001", 50), ("MUG-001", 50), ("MUG-001", 1)])


def test_merge_lines_huge_quantity_rejected():
    with pytest.raises(InvalidOrder, match="MUG-001"):
        merge_lines([("MUG-001", 10**30)])


# --- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "a@b.co",
        "ada@example.com",
        "Ada.Lovelace+shop@mail.example.org",
        "x" * 64 + "@example.com",
        "x" * 59 + "@" + "b" * 190 + ".com",  # 254 characters
    ],
)
def test_valid_emails(email):
    assert is_valid_email(email) is True


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@example.c",
        "ada@example.c0m",
        "ada@@example.com",
        "ada@exa@mple.com",
        "a da@example.com",
        "ada@example.com ",
        "ada@example.com\n",
        "x" * 65 + "@example.com",  # local part too long
        "x" * 60 + "@" + "b" * 190 + ".com",  # 255 characters
        "a@" + "b" * 191 + ".com",  # domain before the last dot too long
        None,
        42,
    ],
)
def test_invalid_emails(email):
    assert is_valid_email(email) is False


# --- order ids -----------------------------------------------------------------------------------


def test_new_order_id_format():
    order_id = new_order_id()
    assert order_id.startswith("ord_")
    assert len(order_id) == 26
    assert is_order_id(order_id) is True


def test_new_order_id_carries_128_random_bits():
    random_part = new_order_id().removeprefix("ord_")
    assert len(base64.urlsafe_b64decode(random_part + "==")) == 16


def test_new_order_ids_do_not_repeat():
    ids = {new_order_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(is_order_id(order_id) for order_id in ids)
    # Random bodies: across many ids every position takes many different characters.
    for position in range(4, 25):
        assert len({order_id[position] for order_id in ids}) > 30


@pytest.mark.parametrize(
    "value",
    [
        "ord_" + "A" * 22,
        "ord_" + "-" * 22,
        "ord_" + "_" * 22,
        "ord_abcdefghijklmnopqrstuv",
        "ord_0123456789ABCDEFGHIJ-_",
    ],
)
def test_is_order_id_accepts(value):
    assert is_order_id(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ord_",
        "ord_" + "a" * 21,
        "ord_" + "a" * 23,
        "ORD_" + "a" * 22,
        "order_" + "a" * 22,
        "ord-" + "a" * 22,
        "ord_" + "a" * 21 + "=",
        "ord_" + "a" * 21 + "+",
        "ord_" + "a" * 21 + "/",
        "ord_" + "a" * 21 + ".",
        "ord_" + "a" * 22 + "\n",
        " ord_" + "a" * 22,
        "ord_" + "a" * 21 + "é",
        "1",
        None,
        123,
    ],
)
def test_is_order_id_rejects(value):
    assert is_order_id(value) is False


# --- price_order ---------------------------------------------------------------------------------


def test_price_order_makes_a_pending_order(catalog):
    order = price_order(EMAIL, TOKEN, [("MUG-001", 2), ("CAP-003", 1)], catalog)
    assert is_order_id(order.id)
    assert order.email == EMAIL
    assert order.payment_token == TOKEN
    assert order.currency == "EUR"
    assert order.status is OrderStatus.PENDING
    assert order.reason is None
    assert order.lines == [OrderLine("MUG-001", 2, 1299), OrderLine("CAP-003", 1, 333)]
    assert order.quantities == {"MUG-001": 2, "CAP-003": 1}
    assert order.created_at.tzinfo is not None
    assert order.created_at.utcoffset() == timedelta(0)


def test_price_order_uses_given_id(catalog):
    order = price_order(EMAIL, TOKEN, [("MUG-001", 1)], catalog, order_id="ord_" + "z" * 22)
    assert order.id == "ord_" + "z" * 22


def test_price_order_generates_fresh_ids(catalog):
    first = price_order(EMAIL, TOKEN, [("MUG-001", 1)], catalog)
    second = price_order(EMAIL, TOKEN, [("MUG-001", 1)], catalog)
    assert first.id != second.id


def test_price_order_merges_duplicate_lines(catalog):
    order = price_order(EMAIL, TOKEN, [("MUG-001", 2), ("TEE-002", 1), ("MUG-001", 3)], catalog)
    assert order.lines == [OrderLine("MUG-001", 5, 1299), OrderLine("TEE-002", 1, 1999)]
    assert order.total_cents == 5 * 1299 + 1999


def test_price_order_applies_merged_quantity_limit(catalog):
    with pytest.raises(InvalidOrder, match="got 101"):
        price_order(EMAIL, TOKEN, [("MUG-001", 100), ("MUG-001", 1)], catalog)


def test_price_order_totals_are_integer_cents(catalog):
    order = price_order(EMAIL, TOKEN, [("TEE-002", 3), ("CAP-003", 7), ("MUG-001", 1)], catalog)
    assert [line.line_total_cents for line in order.lines] == [5997, 2331, 1299]
    assert order.total_cents == 9627
    assert type(order.total_cents) is int
    assert all(type(line.line_total_cents) is int for line in order.lines)


def test_price_order_sums_without_float_error():
    catalog = {"TEN-001": product("TEN-001", 10), "TWENTY-2": product("TWENTY-2", 20)}
    order = price_order(EMAIL, TOKEN, [("TEN-001", 1), ("TWENTY-2", 1)], catalog)
    assert order.total_cents == 30  # 0.10 + 0.20 == 0.30 exactly


def test_largest_allowed_order_total_is_exact():
    catalog = {f"SKU-{i:03d}": product(f"SKU-{i:03d}", MAX_PRICE_CENTS) for i in range(MAX_LINES)}
    requested = [(sku, MAX_QUANTITY) for sku in catalog]
    order = price_order(EMAIL, TOKEN, requested, catalog)
    assert order.total_cents == MAX_LINES * MAX_QUANTITY * MAX_PRICE_CENTS
    assert order.total_cents == MAX_ORDER_TOTAL_CENTS == 200_000_000_000
    assert order.total_cents <= MAX_SAFE_CENTS
    assert is_valid_cents(order.total_cents)
    assert int(float(order.total_cents)) == order.total_cents


def test_price_order_unknown_skus_listed_sorted(catalog):
    with pytest.raises(UnknownSku) as info:
        price_order(EMAIL, TOKEN, [("ZZZ-999", 1), ("MUG-001", 1), ("AAA-000", 2)], catalog)
    error = info.value
    assert error.skus == ["AAA-000", "ZZZ-999"]
    assert error.detail == "unknown sku: AAA-000, ZZZ-999"
    assert error.code == "unknown-sku"
    assert isinstance(error, DomainError)


def test_price_order_refuses_mixed_currencies(catalog):
    with pytest.raises(InvalidOrder, match="same currency"):
        price_order(EMAIL, TOKEN, [("MUG-001", 1), ("USD-004", 1)], catalog)


def test_price_order_single_other_currency(catalog):
    order = price_order(EMAIL, TOKEN, [("USD-004", 3)], catalog)
    assert order.currency == "USD"
    assert order.total_cents == 1500


@pytest.mark.parametrize("email", ["", "not-an-email", "ada@example", None])
def test_price_order_refuses_invalid_email(catalog, email):
    with pytest.raises(InvalidOrder, match="email"):
        price_order(email, TOKEN, [("MUG-001", 1)], catalog)


@pytest.mark.parametrize(
    "requested",
    [[], [("MUG-001", 0)], [(f"SKU-{i:03d}", 1) for i in range(MAX_LINES + 1)]],
)
def test_price_order_refuses_broken_lines(catalog, requested):
    with pytest.raises(InvalidOrder):
        price_order(EMAIL, TOKEN, requested, catalog)


def test_order_total_and_quantities():
    order = pending_order(lines=[OrderLine("MUG-001", 2, 1299), OrderLine("TEE-002", 3, 1999)])
    assert order.total_cents == 2 * 1299 + 3 * 1999
    assert order.quantities == {"MUG-001": 2, "TEE-002": 3}


# --- state machine -------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """A controllable clock for orders._now (no real time involved)."""

    class Clock:
        now = T0

        def advance(self, seconds):
            self.now = self.now + timedelta(seconds=seconds)
            return self.now

    fake = Clock()
    monkeypatch.setattr(orders, "_now", lambda: fake.now)
    return fake


def test_order_status_is_final():
    assert OrderStatus.PENDING.is_final is False
    assert OrderStatus.CONFIRMED.is_final is True
    assert OrderStatus.REJECTED.is_final is True


def test_confirm_pending_order(clock):
    order = pending_order()
    later = clock.advance(5)
    order.confirm()
    assert order.status is OrderStatus.CONFIRMED
    assert order.reason is None
    assert order.updated_at == later
    assert order.created_at == T0


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        (RejectReason.OUT_OF_STOCK, "out_of_stock"),
        (RejectReason.PAYMENT_DECLINED, "payment_declined"),
        (RejectReason.PAYMENT_FAILED, "payment_failed"),
        ("custom reason", "custom reason"),
    ],
)
def test_reject_pending_order_with_reason(clock, reason, stored):
    order = pending_order()
    later = clock.advance(5)
    order.reject(reason)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == stored
    assert type(order.reason) is str
    assert order.updated_at == later
    assert order.created_at == T0


def test_repeating_confirm_is_a_no_op(clock):
    order = pending_order()
    confirmed_at = clock.advance(5)
    order.confirm()
    clock.advance(60)
    order.confirm()
    assert order.status is OrderStatus.CONFIRMED
    assert order.updated_at == confirmed_at


def test_repeating_reject_is_a_no_op_and_keeps_first_reason(clock):
    order = pending_order()
    rejected_at = clock.advance(5)
    order.reject(RejectReason.OUT_OF_STOCK)
    clock.advance(60)
    order.reject(RejectReason.OUT_OF_STOCK)
    order.reject(RejectReason.PAYMENT_FAILED)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "out_of_stock"
    assert order.updated_at == rejected_at


def test_confirmed_order_cannot_be_rejected(clock):
    order = pending_order()
    confirmed_at = clock.advance(5)
    order.confirm()
    clock.advance(60)
    with pytest.raises(InvalidTransition, match="is confirmed, cannot become rejected") as info:
        order.reject(RejectReason.PAYMENT_FAILED)
    assert info.value.code == "invalid-transition"
    assert order.id in info.value.detail
    assert order.status is OrderStatus.CONFIRMED
    assert order.reason is None
    assert order.updated_at == confirmed_at


def test_rejected_order_cannot_be_confirmed(clock):
    order = pending_order()
    rejected_at = clock.advance(5)
    order.reject(RejectReason.PAYMENT_DECLINED)
    clock.advance(60)
    with pytest.raises(InvalidTransition, match="is rejected, cannot become confirmed"):
        order.confirm()
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "payment_declined"
    assert order.updated_at == rejected_at


def test_new_order_timestamps_come_from_the_clock():
    order = Order("ord_" + "b" * 22, EMAIL, TOKEN, "EUR", [OrderLine("MUG-001", 1, 1)])
    assert order.status is OrderStatus.PENDING
    assert order.created_at.utcoffset() == timedelta(0)
    assert order.updated_at.utcoffset() == timedelta(0)
    assert order.updated_at >= order.created_at


# --- settling with the payment's outcome ---------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "reason"),
    [
        (orders.PaymentOutcome.CAPTURED, "confirmed", None),
        (orders.PaymentOutcome.DECLINED, "rejected", "payment_declined"),
        (orders.PaymentOutcome.FAILED, "rejected", "payment_failed"),
    ],
)
def test_settle_follows_the_payment_outcome(outcome, status, reason):
    order = pending_order()
    order.settle(outcome)
    assert (order.status, order.reason) == (status, reason)


def test_settle_refuses_a_bare_string():
    order = pending_order()
    with pytest.raises(TypeError):
        order.settle("captured")
    assert order.status == "pending"


@pytest.mark.parametrize(
    ("charge_status", "outcome"),
    [
        ("captured", orders.PaymentOutcome.CAPTURED),
        ("declined", orders.PaymentOutcome.DECLINED),
        ("failed", orders.PaymentOutcome.FAILED),
        ("pending", orders.PaymentOutcome.FAILED),  # a charge with no known result never pays
    ],
)
def test_payment_outcome_of_a_charge_status(charge_status, outcome):
    assert orders.PaymentOutcome.of(charge_status) is outcome
