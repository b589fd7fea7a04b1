"""Indexes for the payment list's wallet, currency, amount and refunded filters

Revision ID: c9f4b2e7a1d3
Revises: d5f7a9b1c3e5
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c9f4b2e7a1d3"
down_revision = "d5f7a9b1c3e5"
branch_labels = None
depends_on = None

REFUNDED = "refunded_minor > 0"


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_payment_method_created_at_id", ["payment_method", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_payments_currency_created_at_id", ["currency", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_payments_currency_amount_minor_created_at_id",
            ["currency", "amount_minor", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_payments_refunded_created_at_id",
            ["created_at", "id"],
            unique=False,
            sqlite_where=sa.text(REFUNDED),
            postgresql_where=sa.text(REFUNDED),
        )


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_refunded_created_at_id")
        batch_op.drop_index("ix_payments_currency_amount_minor_created_at_id")
        batch_op.drop_index("ix_payments_currency_created_at_id")
        batch_op.drop_index("ix_payments_payment_method_created_at_id")
