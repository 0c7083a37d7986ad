"""The demo catalog is deterministic, large enough, and valid."""

from shop.domain.catalog import is_valid_sku
from shop.seed import PRODUCT_COUNT, catalog


def test_catalog_is_the_same_every_time():
    assert catalog() == catalog()


def test_catalog_has_at_least_fifty_products_with_stock():
    items = catalog()
    assert len(items) == PRODUCT_COUNT >= 50
    assert len({product.sku for product, _ in items}) == len(items)
    assert all(is_valid_sku(product.sku) and stock > 0 for product, stock in items)
    assert [product.sku for product, _ in items][:2] == ["TF-0001", "TF-0002"]
