"""Catalog use cases."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from shop.domain.catalog import Product, is_valid_sku
from shop.persistence.catalog_store import CatalogStore
from shop.usecases.errors import AlreadyExists, NotFound


def list_products(
    session: Connection, query: str, page: int, per_page: int
) -> tuple[list[Product], int]:
    return CatalogStore(session).search(query, (page - 1) * per_page, per_page)


def get_product(session: Connection, sku: str) -> Product:
    product = CatalogStore(session).get(sku) if is_valid_sku(sku) else None
    if product is None:
        raise NotFound(f"no product with sku {sku}")
    return product


def products_for(session: Connection, skus: list[str]) -> dict[str, Product]:
    return CatalogStore(session).get_many(skus)


def create_product(session: Connection, product: Product) -> Product:
    store = CatalogStore(session)
    exists = AlreadyExists(f"a product with sku {product.sku} exists")
    if store.get(product.sku) is not None:
        raise exists
    try:
        store.add(product)
    except IntegrityError:  # a concurrent request created it between the check and the insert
        raise exists from None
    return product


def update_product(session: Connection, product: Product) -> Product:
    store = CatalogStore(session)
    if not is_valid_sku(product.sku) or store.get(product.sku) is None:
        raise NotFound(f"no product with sku {product.sku}")
    store.replace(product)
    return product
