"""Money as integer cents: no float ever touches a price or a total."""

from __future__ import annotations

# Every amount must stay exact in JSON clients too (JavaScript numbers), so the
# largest amount the shop handles is the largest integer a double holds exactly.
MAX_SAFE_CENTS = 2**53 - 1

CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF"})


def is_valid_cents(value: object) -> bool:
    """An amount is a non-negative int (not a bool) no larger than MAX_SAFE_CENTS."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_CENTS


def format_cents(cents: int, currency: str) -> str:
    """Render an amount for people: 1234, 'EUR' -> 'EUR 12.34'."""
    return f"{currency} {cents // 100}.{cents % 100:02d}"
