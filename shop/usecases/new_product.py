"""A product always has a stock level: the rule, and the order of its two steps.

Adding a product touches two contexts. Inventory starts keeping stock for the
sku first, then the catalog records the product, so there is never a product
without a stock level to restock. A failure between the two steps leaves only
an unused zero stock level, and asking again is safe: keeping stock for a sku
already kept changes nothing (inventory.track), and the product is recorded
once (a second record is refused as AlreadyExists).

Each stage wires the two steps to what it has (explicit wiring: two callables):

- the monolith: both steps on one session, so one transaction holds both;
- the catalog service: an HTTP call to inventory, then its own transaction;
- the admin-writes function: one transaction on each context's database.

Each step opens and ends its own transaction (or shares the caller's), so no
transaction is ever open across the other step: the catalog service never
holds its database while it waits for inventory.
"""

from __future__ import annotations

from collections.abc import Callable

from shop.domain.catalog import Product

# Start keeping stock for a sku (none on hand); doing it again changes nothing.
KeepStock = Callable[[str], object]
# Record the product in the catalog; raises AlreadyExists if its sku is taken.
RecordProduct = Callable[[Product], object]


def add_product(product: Product, keep_stock: KeepStock, record: RecordProduct) -> Product:
    """Stock level first, then the product: the product is never seen without one."""
    keep_stock(product.sku)
    record(product)
    return product
