"""orders: orders and their lines

Revision ID: orders_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0001"
down_revision = None
branch_labels = ("orders",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders_orders",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("payment_token", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders_orders")),
    )
    op.create_index(op.f("ix_orders_orders_email"), "orders_orders", ["email"])
    op.create_index(op.f("ix_orders_orders_status"), "orders_orders", ["status"])
    op.create_table(
        "orders_lines",
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sku", name=op.f("pk_orders_lines")),
    )


def downgrade() -> None:
    op.drop_table("orders_lines")
    op.drop_index(op.f("ix_orders_orders_status"), table_name="orders_orders")
    op.drop_index(op.f("ix_orders_orders_email"), table_name="orders_orders")
    op.drop_table("orders_orders")
