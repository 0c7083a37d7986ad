"""Bodies exchanged between functions outside the public API."""

from __future__ import annotations

from pydantic import BaseModel

from shop.schemas import ProductOut


class ProductList(BaseModel):
    items: list[ProductOut]
