"""payments: charges

Revision ID: payments_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "payments_0001"
down_revision = None
branch_labels = ("payments",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments_charges",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_charges")),
        sa.UniqueConstraint("order_id", name=op.f("uq_payments_charges_order_id")),
    )


def downgrade() -> None:
    op.drop_table("payments_charges")
