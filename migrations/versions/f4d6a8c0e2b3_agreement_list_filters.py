"""Agreements keep when they run out (the later of their tokens' expiries), and the agreements list's
wallet, status and expiry filters have indexes

Revision ID: f4d6a8c0e2b3
Revises: e2b4c6d8f0a1
Create Date: 2026-11-29 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f4d6a8c0e2b3"
down_revision = "e2b4c6d8f0a1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    agreements = sa.table(
        "agreements",
        sa.column("expires_at", sa.DateTime(timezone=True)),
        sa.column("access_token_expires_at", sa.DateTime(timezone=True)),
        sa.column("refresh_token_expires_at", sa.DateTime(timezone=True)),
    )
    access, refresh = agreements.c.access_token_expires_at, agreements.c.refresh_token_expires_at
    later = sa.case(
        (refresh.is_(None), access),
        (access.is_(None), refresh),
        (refresh > access, refresh),
        else_=access,
    )
    op.get_bind().execute(agreements.update().values(expires_at=later))
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agreements_wallet_created_at_id", ["wallet", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_agreements_wallet_status_created_at_id",
            ["wallet", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_agreements_status_expires_at", ["status", "expires_at"], unique=False)


def downgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index("ix_agreements_status_expires_at")
        batch_op.drop_index("ix_agreements_wallet_status_created_at_id")
        batch_op.drop_index("ix_agreements_wallet_created_at_id")
        batch_op.drop_column("expires_at")
