"""Agreements keep a digest of their authState, so the customer's return finds them without comparing the state itself

Revision ID: c4e8a1f6b2d9
Revises: b6c1d8e3f5a7
Create Date: 2026-12-01 11:00:00

"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "c4e8a1f6b2d9"
down_revision = "b6c1d8e3f5a7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_state_hash", sa.String(length=64), nullable=True))
    agreements = sa.table(
        "agreements", sa.column("id"), sa.column("auth_state"), sa.column("auth_state_hash")
    )
    connection = op.get_bind()
    for row_id, auth_state in connection.execute(sa.select(agreements.c.id, agreements.c.auth_state)).all():
        digest = hashlib.sha256(auth_state.encode()).hexdigest()
        connection.execute(
            agreements.update().where(agreements.c.id == row_id).values(auth_state_hash=digest)
        )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.alter_column("auth_state_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_agreements_auth_state_hash", ["auth_state_hash"], unique=True)


def downgrade():
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index("ix_agreements_auth_state_hash")
        batch_op.drop_column("auth_state_hash")
