"""Refunds keep staff's note and the approving or rejecting manager's comment

Revision ID: d5f7a9b1c3e5
Revises: b8e2d4f6a1c3
Create Date: 2026-11-29 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d5f7a9b1c3e5"
down_revision = "b8e2d4f6a1c3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("decision_comment", sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("decision_comment")
        batch_op.drop_column("note")
