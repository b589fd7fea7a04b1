"""Indexes for the notifications inbox: outcome and verdict filters by date, duplicates, what a notification changed

Revision ID: f2a9c4e6d8b1
Revises: e7c3f1a2b4d5
Create Date: 2026-11-23 13:50:00

"""

from alembic import op

revision = "f2a9c4e6d8b1"
down_revision = "e7c3f1a2b4d5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_outcome_id")
        batch_op.create_index(
            "ix_notifications_outcome_received_at_id", ["outcome", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_verdict_received_at_id", ["verdict", "received_at", "id"], unique=False
        )
        batch_op.create_index("ix_notifications_duplicate_of_id", ["duplicate_of_id"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_notification_id", ["notification_id"], unique=False)


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_notification_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_duplicate_of_id")
        batch_op.drop_index("ix_notifications_verdict_received_at_id")
        batch_op.drop_index("ix_notifications_outcome_received_at_id")
        batch_op.create_index("ix_notifications_outcome_id", ["outcome", "id"], unique=False)
