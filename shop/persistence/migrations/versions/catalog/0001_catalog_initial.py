"""catalog: products

Revision ID: catalog_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_products",
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_catalog_products_price_positive")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_catalog_products")),
    )


def downgrade() -> None:
    op.drop_table("catalog_products")
