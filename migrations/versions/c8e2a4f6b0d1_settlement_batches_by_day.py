"""Settlement batches by day: the settlement list's day filter and the report's settled-vs-paid section

Revision ID: c8e2a4f6b0d1
Revises: f5b43018eab8
Create Date: 2026-11-30 01:55:00

"""

from alembic import op

revision = "c8e2a4f6b0d1"
down_revision = "f5b43018eab8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_batches_day_id", ["day", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_batches_day_id")
