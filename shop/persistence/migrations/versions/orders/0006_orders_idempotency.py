"""orders: the Idempotency-Key of each order placed with one

Revision ID: orders_0006
Revises: orders_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0006"
down_revision = "orders_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders_idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_orders_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_orders_idempotency_keys_created_at"), "orders_idempotency_keys", ["created_at"]
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_orders_idempotency_keys_created_at"), table_name="orders_idempotency_keys"
    )
    op.drop_table("orders_idempotency_keys")
