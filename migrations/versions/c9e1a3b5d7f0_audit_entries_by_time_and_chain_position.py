"""The audit log's time index ends in the chain position

A day filter lists entries by time, ties broken by chain position, so that a page is one walk of
this index from the day's bound however far back the day lies. The index on the time alone did not
give that order: a "to" day alone walked the chain from its newest entry to the day.

Revision ID: c9e1a3b5d7f0
Revises: b8d0f2a4c6e8
Create Date: 2026-11-30 15:20:00
"""

from alembic import op

revision = "c9e1a3b5d7f0"
down_revision = "b8d0f2a4c6e8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_log_created_at_seq", "audit_log", ["created_at", "seq"])
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite weighs an index by the statistics ANALYZE stores, which a new one lacks (a7c2e9d4f1b6).
        op.execute("ANALYZE audit_log")


def downgrade():
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.drop_index("ix_audit_log_created_at_seq", table_name="audit_log")
