"""Settlement batches by day (the list's day filter, the report's settled vs paid), and a day's
transactions reconciled as a batch of its own (its scope)

Revision ID: c8e2a4f6b0d1
Revises: c32b7779cd07
Create Date: 2026-11-30 01:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c8e2a4f6b0d1"
down_revision = "c32b7779cd07"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_batches_day_id", ["day", "id"], unique=False)
        batch_op.add_column(sa.Column("scope", sa.String(length=8), server_default="batch", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_settlement_batches_scope_valid"), "scope IN ('batch', 'day')"
        )


def downgrade():
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_settlement_batches_scope_valid"), type_="check")
        batch_op.drop_column("scope")
        batch_op.drop_index("ix_settlement_batches_day_id")
