"""Count a cancel's unknown answers, so retries stop where the provider says to ask its support

Revision ID: b6c1d8e3f5a7
Revises: a3d5e7f9b2c4
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b6c1d8e3f5a7"
down_revision = "a3d5e7f9b2c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cancels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unknown_answers", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("cancels", schema=None) as batch_op:
        batch_op.drop_column("unknown_answers")
