"""Indexes for the payment list filtered by provider and status, and an agreement's newest payments

Revision ID: e7c3f1a2b4d5
Revises: d41e7a9c2b10
Create Date: 2026-11-23 13:40:00

"""

from alembic import op

revision = "e7c3f1a2b4d5"
down_revision = "d41e7a9c2b10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_agreement_id")
        batch_op.create_index(
            "ix_payments_agreement_id_created_at_id", ["agreement_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_payments_provider_status_created_at_id",
            ["provider", "status", "created_at", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_provider_status_created_at_id")
        batch_op.drop_index("ix_payments_agreement_id_created_at_id")
        batch_op.create_index("ix_payments_agreement_id", ["agreement_id"], unique=False)
