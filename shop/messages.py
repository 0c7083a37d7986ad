"""Bodies exchanged between contexts outside the public API (under /internal, never
routed by the gateway), the same on both split stages."""

from __future__ import annotations

from pydantic import BaseModel

from shop.domain.catalog import Product
from shop.schemas import ProductOut


class ProductList(BaseModel):
    """GET /internal/products?sku=A&sku=B: the products among the skus (orders price with it)."""

    items: list[ProductOut]

    def by_sku(self) -> dict[str, Product]:
        """The products as the rules know them, by sku (what pricing an order needs)."""
        return {item.sku: Product(**item.model_dump()) for item in self.items}
