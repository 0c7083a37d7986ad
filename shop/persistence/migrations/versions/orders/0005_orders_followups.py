"""orders: the follow-ups a final order still owes; the inbox indexed for its retention

Revision ID: orders_0005
Revises: orders_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0005"
down_revision = "orders_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders_followups",
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "step", name=op.f("pk_orders_followups")),
    )
    op.create_index(
        op.f("ix_orders_followups_waiting_since"), "orders_followups", ["waiting_since"]
    )
    op.create_index(op.f("ix_orders_inbox_received_at"), "orders_inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_inbox_received_at"), table_name="orders_inbox")
    op.drop_index(op.f("ix_orders_followups_waiting_since"), table_name="orders_followups")
    op.drop_table("orders_followups")
