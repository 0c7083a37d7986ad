"""inventory: the inbox indexed by arrival, so its retention prunes without a full scan

Revision ID: inventory_0003
Revises: inventory_0002
"""

from alembic import op

revision = "inventory_0003"
down_revision = "inventory_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_inventory_inbox_received_at"), "inventory_inbox", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inventory_inbox_received_at"), table_name="inventory_inbox")
