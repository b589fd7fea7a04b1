"""Indexes for the agreements' sweep and the payroll poll, which read whole tables without them

The sweep (every minute) asks for active agreements whose token runs out soon, or whose revoke went
unanswered; each poll of a payroll batch asks whether a request sent to the bank still has an item
that is not final.

Revision ID: f7b9d1e3a5c6
Revises: e3a5c7e9b1d4
Create Date: 2026-11-30 10:30:00
"""

from alembic import op

revision = "f7b9d1e3a5c6"
down_revision = "e3a5c7e9b1d4"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_agreements_status_access_token_expires_at": ("agreements", ["status", "access_token_expires_at"]),
    "ix_agreements_status_revoke_requested_at": ("agreements", ["status", "revoke_requested_at"]),
    "ix_ach_items_submission_id_status": ("ach_items", ["submission_id", "status"]),
}


def upgrade():
    for name, (table, columns) in _INDEXES.items():
        op.create_index(name, table, columns)


def downgrade():
    for name, (table, _) in _INDEXES.items():
        op.drop_index(name, table_name=table)
