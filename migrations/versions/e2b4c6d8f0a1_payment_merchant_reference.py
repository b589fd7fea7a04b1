"""Payments keep the merchant's own order reference staff gave when charging an agreement

Revision ID: e2b4c6d8f0a1
Revises: c9f4b2e7a1d3
Create Date: 2026-11-29 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e2b4c6d8f0a1"
down_revision = "c9f4b2e7a1d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merchant_reference", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("merchant_reference")
