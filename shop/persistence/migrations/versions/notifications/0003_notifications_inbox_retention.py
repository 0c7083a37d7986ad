"""notifications: the inbox indexed by arrival, so its retention prunes without a full scan

Revision ID: notifications_0003
Revises: notifications_0002
"""

from alembic import op

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_notifications_inbox_received_at"), "notifications_inbox", ["received_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_inbox_received_at"), table_name="notifications_inbox")
