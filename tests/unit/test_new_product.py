"""The rule 'a product always has a stock level' and the order of its steps."""

import pytest

from shop.domain.catalog import Product
from shop.usecases.new_product import add_product

TEAPOT = Product("TEA-001", "Teapot", "", 1500, "EUR")


def test_stock_is_kept_before_the_product_is_recorded():
    steps = []
    add_product(
        TEAPOT, lambda sku: steps.append(("stock", sku)), lambda p: steps.append(("product", p))
    )
    assert steps == [("stock", "TEA-001"), ("product", TEAPOT)]


def test_no_product_is_recorded_when_stock_cannot_be_kept():
    recorded = []

    def inventory_down(_sku: str) -> None:
        raise ConnectionError("inventory is down")

    with pytest.raises(ConnectionError):
        add_product(TEAPOT, inventory_down, recorded.append)
    assert recorded == []
