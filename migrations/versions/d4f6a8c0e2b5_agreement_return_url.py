"""Agreements: where the customer goes after the wallet, when a storefront names it

Revision ID: d4f6a8c0e2b5
Revises: b7e2d4f6a8c1
Create Date: 2026-11-30 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6a8c0e2b5"
down_revision = "b7e2d4f6a8c1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_url", sa.String(length=2048), nullable=True))


def downgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("return_url")
