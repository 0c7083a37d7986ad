"""inventory: stock levels and reservations

Revision ID: inventory_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "inventory_0001"
down_revision = None
branch_labels = ("inventory",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inventory_stock_levels",
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "available >= 0", name=op.f("ck_inventory_stock_levels_available_not_negative")
        ),
        sa.CheckConstraint(
            "reserved >= 0", name=op.f("ck_inventory_stock_levels_reserved_not_negative")
        ),
        sa.CheckConstraint("sold >= 0", name=op.f("ck_inventory_stock_levels_sold_not_negative")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_inventory_stock_levels")),
    )
    op.create_table(
        "inventory_reservations",
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sku", name=op.f("pk_inventory_reservations")),
    )


def downgrade() -> None:
    op.drop_table("inventory_reservations")
    op.drop_table("inventory_stock_levels")
