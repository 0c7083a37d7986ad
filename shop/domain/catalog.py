"""Products: sku, name, description, a price in cents and its currency."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shop.domain.errors import InvalidProduct
from shop.domain.money import CURRENCIES

SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,31}$"
# Names hold no control character; descriptions may hold tabs and line breaks inside.
# Neither starts or ends with whitespace: such a value is refused, never trimmed, so
# every stage stores what it was sent. (PostgreSQL cannot store NUL in text at all, so
# refusing it here keeps every backend the same.)
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # one line of free text, as typed into a search
# Blank or control: `\s` differs between Python (which counts U+0085) and the ECMA-262 regexes
# the OpenAPI document's patterns are read with (which count U+FEFF), so both are named too.
BLANK_OR_CONTROL = r"\s\x00-\x1f\x7f-\x9f\ufeff"
_EDGE = rf"[^{BLANK_OR_CONTROL}]"  # a character a value may start or end with
NAME_PATTERN = rf"^(?:{_EDGE}(?:[^\x00-\x1f\x7f]*{_EDGE})?)?$"
DESCRIPTION_PATTERN = rf"^(?:{_EDGE}(?:[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*{_EDGE})?)?$"
_SKU = re.compile(SKU_PATTERN)
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
# A single unit costs at most 1,000,000.00; with the order limits below, no
# order total can leave the exact integer range (see orders.MAX_ORDER_TOTAL_CENTS).
MAX_PRICE_CENTS = 100_000_000


def is_valid_sku(sku: str) -> bool:
    """Skus are 3-32 upper-case letters, digits and dashes, starting alphanumeric."""
    return isinstance(sku, str) and _SKU.fullmatch(sku) is not None


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str

    def __post_init__(self) -> None:
        if not is_valid_sku(self.sku):
            raise InvalidProduct(f"sku {self.sku!r} must match {SKU_PATTERN}")
        if not self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise InvalidProduct(f"name must be 1-{MAX_NAME_LENGTH} characters")
        if not re.fullmatch(NAME_PATTERN, self.name):
            raise InvalidProduct("name must not contain control characters or end in spaces")
        if not re.fullmatch(DESCRIPTION_PATTERN, self.description):
            raise InvalidProduct("description must not contain control characters or end in spaces")
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidProduct(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters")
        price = self.price_cents
        if (
            isinstance(price, bool)
            or not isinstance(price, int)
            or not 0 < price <= MAX_PRICE_CENTS
        ):
            raise InvalidProduct(f"price_cents must be a whole number from 1 to {MAX_PRICE_CENTS}")
        if self.currency not in CURRENCIES:
            raise InvalidProduct(f"currency must be one of {', '.join(sorted(CURRENCIES))}")


def matches(product: Product, query: str) -> bool:
    """Text search: every word of the query occurs in the sku, name or description.

    Case is ignored with str.lower(), the same folding SQL's lower() does.
    """
    haystack = f"{product.sku} {product.name} {product.description}".lower()
    return all(word in haystack for word in query.lower().split())
