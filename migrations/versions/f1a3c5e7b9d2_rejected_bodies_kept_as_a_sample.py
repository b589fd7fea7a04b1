"""Notifications: a rejected POST's body may be left out (beyond the sample, or past its retention)

Revision ID: f1a3c5e7b9d2
Revises: e9ce66486e6f
Create Date: 2026-11-30 01:20:00

``dropped_body_bytes`` holds the size of a body not kept; the partial index finds the rejected
bodies the retention has still to empty, oldest first.
"""

import sqlalchemy as sa
from alembic import op

revision = "f1a3c5e7b9d2"
down_revision = "e9ce66486e6f"
branch_labels = None
depends_on = None

REJECTED_WITH_BODY = "verdict <> 'valid' AND dropped_body_bytes IS NULL"


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped_body_bytes", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_notifications_rejected_with_body",
            ["received_at"],
            unique=False,
            sqlite_where=sa.text(REJECTED_WITH_BODY),
            postgresql_where=sa.text(REJECTED_WITH_BODY),
        )


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notifications_rejected_with_body",
            sqlite_where=sa.text(REJECTED_WITH_BODY),
            postgresql_where=sa.text(REJECTED_WITH_BODY),
        )
        batch_op.drop_column("dropped_body_bytes")
