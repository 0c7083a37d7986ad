"""orders: a lease on an order, so that one saga at a time works on it

Revision ID: orders_0004
Revises: orders_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0004"
down_revision = "orders_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders_orders") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders_orders") as batch:
        batch.drop_column("claimed_until")
