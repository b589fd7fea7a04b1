"""Agreements: indexes of the revoke and wallet-cancel times by status (the report counts them by day)

Revision ID: d8f2b4a6c1e3
Revises: c7e1a3f5b9d2
Create Date: 2026-11-29 22:35:00

"""

from alembic import op

revision = "d8f2b4a6c1e3"
down_revision = "c7e1a3f5b9d2"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_agreements_status_revoked_at": ["status", "revoked_at"],
    "ix_agreements_status_cancelled_at": ["status", "cancelled_at"],
}


def upgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
