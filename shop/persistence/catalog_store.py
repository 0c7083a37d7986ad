"""Catalog rows <-> Product."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from shop.domain.catalog import Product
from shop.persistence.tables import products

# Built once: the hottest read of the shop skips building and hashing a new statement.
_BY_SKU = select(products).where(products.c.sku == bindparam("sku"))


def _product(row) -> Product:
    return Product(row.sku, row.name, row.description, row.price_cents, row.currency)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CatalogStore:
    def __init__(self, session: Connection) -> None:
        self.session = session

    def get(self, sku: str) -> Product | None:
        row = self.session.execute(_BY_SKU, {"sku": sku}).first()
        return _product(row) if row else None

    def get_many(self, skus: Iterable[str]) -> dict[str, Product]:
        rows = self.session.execute(select(products).where(products.c.sku.in_(list(skus))))
        return {row.sku: _product(row) for row in rows}

    def search(self, query: str, offset: int, limit: int) -> tuple[list[Product], int]:
        """Products in which every word of `query` occurs (case-insensitive), by sku."""
        condition = and_(
            *(
                or_(
                    func.lower(column).like(f"%{_escape_like(word)}%", escape="\\")
                    for column in (products.c.sku, products.c.name, products.c.description)
                )
                for word in query.lower().split()
            )
        )
        total = self.session.scalar(select(func.count()).select_from(products).where(condition))
        rows = self.session.execute(
            select(products).where(condition).order_by(products.c.sku).offset(offset).limit(limit)
        )
        return [_product(row) for row in rows], int(total or 0)

    def add(self, product: Product) -> None:
        self.session.execute(insert(products).values(**vars(product)))

    def replace(self, product: Product) -> None:
        values = {k: v for k, v in vars(product).items() if k != "sku"}
        self.session.execute(update(products).where(products.c.sku == product.sku).values(**values))
