"""orders: the dead letters of the saga's events (the dead-letters function's table)

Revision ID: orders_0007
Revises: orders_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "orders_0007"
down_revision = "orders_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders_dead_letters",
        sa.Column("event_source", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("error_destination", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_data", sa.Text),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "event_source", "event_id", "error_destination", name=op.f("pk_orders_dead_letters")
        ),
    )
    op.create_index(
        op.f("ix_orders_dead_letters_received_at"), "orders_dead_letters", ["received_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_dead_letters_received_at"), table_name="orders_dead_letters")
    op.drop_table("orders_dead_letters")
