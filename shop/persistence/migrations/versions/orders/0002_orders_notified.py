"""orders: remember whether the customer was told of the final status

Revision ID: orders_0002
Revises: orders_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0002"
down_revision = "orders_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders_orders") as batch:
        batch.add_column(
            sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("orders_orders") as batch:
        batch.drop_column("notified")
