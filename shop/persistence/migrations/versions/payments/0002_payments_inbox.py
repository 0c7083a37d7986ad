"""payments: the inbox of processed events (deduplication on the event id)

Revision ID: payments_0002
Revises: payments_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "payments_0002"
down_revision = "payments_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments_inbox",
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_payments_inbox")),
    )


def downgrade() -> None:
    op.drop_table("payments_inbox")
