"""Notification health: notifications waiting to be applied are no longer counted in the rollup

Revision ID: e9b2d4f6a8c1
Revises: d8f1a3c5e7b9
Create Date: 2026-11-30 01:00:00

The report now counts them from the inbox's outcome index, so intake writes nothing but the
notification itself for a verified first delivery. Downgrading leaves the rollup without them:
the earlier code's ``flask --app dashboard rollups rebuild`` counts them in again.
"""

import sqlalchemy as sa
from alembic import op

revision = "e9b2d4f6a8c1"
down_revision = "d8f1a3c5e7b9"
branch_labels = None
depends_on = None


def upgrade():
    tallies = sa.table("notification_tallies", sa.column("outcome"))
    op.execute(tallies.delete().where(tallies.c.outcome == "pending"))


def downgrade():
    pass
