"""Notifications: the verdict index holds only notifications whose signature did not verify

A verified notification (nearly all of them) no longer writes an entry there, and the appliers'
and the sweeper's "verified and waiting" can no longer be planned through it on a SQLite database
without statistics (every verified notification read to find the few waiting).

Revision ID: e3a5c7e9b1d4
Revises: c6e8a0b2d4f7
Create Date: 2026-11-30 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e3a5c7e9b1d4"
down_revision = "c6e8a0b2d4f7"
branch_labels = None
depends_on = None

_NAME = "ix_notifications_verdict_received_at_id"
_COLUMNS = ["verdict", "received_at", "id"]
_UNVERIFIED = sa.text("verdict <> 'valid'")


def upgrade():
    op.drop_index(_NAME, table_name="notifications")
    op.create_index(_NAME, "notifications", _COLUMNS, sqlite_where=_UNVERIFIED, postgresql_where=_UNVERIFIED)
    if op.get_bind().dialect.name == "sqlite":
        # Dropping an index dropped its statistics: gather the table's again, as a7c2e9d4f1b6 did.
        op.execute("ANALYZE notifications")


def downgrade():
    op.drop_index(_NAME, table_name="notifications")
    op.create_index(_NAME, "notifications", _COLUMNS)
