"""Payroll batches keep who submitted them for approval (never their approver)

Revision ID: a3c5e7f9b1d2
Revises: 6a24d191b6be
Create Date: 2026-11-29 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a3c5e7f9b1d2"
down_revision = "6a24d191b6be"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ach_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("submitted_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ach_batches_submitted_by_id_users"),
            "users",
            ["submitted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("ach_batches", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ach_batches_submitted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("submitted_by_id")
