"""Notifications: the object and duplicate indexes hold only rows that have one, so intake writes neither

Revision ID: c6e8a0b2d4f7
Revises: a1c3e5f7b9d2
Create Date: 2026-11-30 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c6e8a0b2d4f7"
down_revision = "a1c3e5f7b9d2"
branch_labels = None
depends_on = None

_LINKED = sa.text("object_id IS NOT NULL")
_DUPLICATE = sa.text("duplicate_of_id IS NOT NULL")


def upgrade():
    op.drop_index("ix_notifications_object", table_name="notifications")
    op.drop_index("ix_notifications_duplicate_of_id", table_name="notifications")
    op.create_index(
        "ix_notifications_object",
        "notifications",
        ["object_type", "object_id", "id"],
        sqlite_where=_LINKED,
        postgresql_where=_LINKED,
    )
    op.create_index(
        "ix_notifications_duplicate_of_id",
        "notifications",
        ["duplicate_of_id"],
        sqlite_where=_DUPLICATE,
        postgresql_where=_DUPLICATE,
    )


def downgrade():
    op.drop_index("ix_notifications_duplicate_of_id", table_name="notifications")
    op.drop_index("ix_notifications_object", table_name="notifications")
    op.create_index("ix_notifications_duplicate_of_id", "notifications", ["duplicate_of_id"])
    op.create_index("ix_notifications_object", "notifications", ["object_type", "object_id", "id"])
