"""payments: the inbox indexed by arrival, so its retention prunes without a full scan

Revision ID: payments_0003
Revises: payments_0002
"""

from alembic import op

revision = "payments_0003"
down_revision = "payments_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_payments_inbox_received_at"), "payments_inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_inbox_received_at"), table_name="payments_inbox")
