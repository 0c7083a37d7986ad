"""notifications: messages

Revision ID: notifications_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0001"
down_revision = None
branch_labels = ("notifications",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications_messages",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications_messages")),
        sa.UniqueConstraint("order_id", "kind", name=op.f("uq_notifications_messages_order_id")),
    )
    op.create_index(op.f("ix_notifications_messages_email"), "notifications_messages", ["email"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_messages_email"), table_name="notifications_messages")
    op.drop_table("notifications_messages")
