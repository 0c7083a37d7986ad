"""Load the deterministic demo catalog: the same 60 products and stock every time.

    python -m shop.seed --url sqlite:///data/monolith.sqlite
    python -m shop.seed --catalog-url URL --inventory-url URL   (database per service)

Products that exist already are left as they are, so seeding twice is safe.
"""

from __future__ import annotations

import argparse
import itertools

from shop.domain.catalog import Product
from shop.domain.inventory import StockLevel
from shop.persistence.catalog_store import CatalogStore
from shop.persistence.database import Database
from shop.persistence.inventory_store import InventoryStore
from shop.startup_errors import readable_errors

_MATERIALS = [
    "Oak",
    "Steel",
    "Linen",
    "Ceramic",
    "Wool",
    "Cotton",
    "Copper",
    "Bamboo",
    "Glass",
    "Leather",
]
_THINGS = ["Mug", "Lamp", "Scarf", "Notebook", "Chair", "Basket"]
PRODUCT_COUNT = len(_MATERIALS) * len(_THINGS)


def catalog() -> list[tuple[Product, int]]:
    """The seeded products with their starting stock, in sku order."""
    items = []
    for number, (thing, material) in enumerate(itertools.product(_THINGS, _MATERIALS), start=1):
        price = 500 + (number * 739) % 9500  # 5.00 .. 99.99, spread but fixed
        stock = 20 + (number * 37) % 180  # 20 .. 199 units
        product = Product(
            sku=f"TF-{number:04d}",
            name=f"{material} {thing}",
            description=f"A {thing.lower()} made of {material.lower()}, from the threefold shop.",
            price_cents=price,
            currency="EUR",
        )
        items.append((product, stock))
    return items


def seed(catalog_db: Database, inventory_db: Database) -> int:
    """Add the products (and their stock) that are missing; return how many were added."""
    added = []
    with catalog_db.writing() as session:
        store = CatalogStore(session)
        for product, stock in catalog():
            if store.get(product.sku) is None:
                store.add(product)
                added.append((product, stock))
    with inventory_db.writing() as session:
        stock_store = InventoryStore(session)
        for product, stock in added:
            if stock_store.level(product.sku) is None:
                stock_store.add_level(StockLevel(product.sku, available=stock))
    return len(added)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="one database for catalog and inventory (the monolith)")
    parser.add_argument("--catalog-url", help="the catalog's own database")
    parser.add_argument("--inventory-url", help="the inventory's own database")
    args = parser.parse_args(argv)
    catalog_url = args.catalog_url or args.url
    inventory_url = args.inventory_url or args.url
    if not (catalog_url and inventory_url):
        parser.error("give --url, or both --catalog-url and --inventory-url")
    catalog_db, inventory_db = Database(catalog_url), Database(inventory_url)
    try:
        with readable_errors("seed"):
            added = seed(catalog_db, inventory_db)
    finally:
        catalog_db.dispose()
        inventory_db.dispose()
    print(f"seeded {added} new products ({PRODUCT_COUNT} in the demo catalog)")


if __name__ == "__main__":
    main()
