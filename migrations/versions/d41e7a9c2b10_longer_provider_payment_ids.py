"""Longer provider payment ids: Worldpay's paymentId is an opaque token of about 180 characters

Revision ID: d41e7a9c2b10
Revises: ca85f582c6c5
Create Date: 2026-11-23 13:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d41e7a9c2b10"
down_revision = "ca85f582c6c5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_payment_id", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_payment_id", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
