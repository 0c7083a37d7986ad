"""Money as integer cents: validation and formatting."""

import pytest

from shop.domain.money import CURRENCIES, MAX_SAFE_CENTS, format_cents, is_valid_cents


def test_max_safe_cents_is_largest_exact_double_integer():
    assert MAX_SAFE_CENTS == 9_007_199_254_740_991
    assert float(MAX_SAFE_CENTS) == MAX_SAFE_CENTS
    assert float(MAX_SAFE_CENTS + 2) != MAX_SAFE_CENTS + 2


def test_currencies():
    assert {"EUR", "USD", "GBP", "CHF"} == CURRENCIES


@pytest.mark.parametrize("value", [0, 1, 99, 100, 123_456, MAX_SAFE_CENTS - 1, MAX_SAFE_CENTS])
def test_is_valid_cents_accepts_non_negative_ints_up_to_max(value):
    assert is_valid_cents(value) is True


@pytest.mark.parametrize(
    "value",
    [
        -1,
        -100,
        MAX_SAFE_CENTS + 1,
        2**64,
        True,
        False,
        1.0,
        0.5,
        "100",
        None,
        [100],
    ],
)
def test_is_valid_cents_rejects(value):
    assert is_valid_cents(value) is False


@pytest.mark.parametrize(
    ("cents", "currency", "expected"),
    [
        (0, "EUR", "EUR 0.00"),
        (1, "EUR", "EUR 0.01"),
        (9, "USD", "USD 0.09"),
        (10, "USD", "USD 0.10"),
        (99, "GBP", "GBP 0.99"),
        (100, "GBP", "GBP 1.00"),
        (1234, "EUR", "EUR 12.34"),
        (100_000_000, "CHF", "CHF 1000000.00"),
        (MAX_SAFE_CENTS, "EUR", "EUR 90071992547409.91"),
    ],
)
def test_format_cents(cents, currency, expected):
    assert format_cents(cents, currency) == expected
