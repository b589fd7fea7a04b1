"""Indexes for every list filter in list order: the inbox's kind and provider, the audit log's actor and object

Revision ID: a7c2e9d4f1b6
Revises: f4d6a8c0e2b3
Create Date: 2026-11-29 17:00:00

"""

from alembic import op

revision = "a7c2e9d4f1b6"
down_revision = "f4d6a8c0e2b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_kind_received_at_id", ["kind", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_provider_received_at_id", ["provider", "received_at", "id"], unique=False
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor_label_seq", ["actor_label", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_object_type_seq", ["object_type", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_object_id_seq", ["object_id", "seq"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite weighs a new index by the statistics ANALYZE stores (PostgreSQL keeps its own):
        # without them a rare kind filtered with a provider walks every row of that provider.
        op.execute("ANALYZE notifications")
        op.execute("ANALYZE audit_log")


def downgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_object_id_seq")
        batch_op.drop_index("ix_audit_log_object_type_seq")
        batch_op.drop_index("ix_audit_log_actor_label_seq")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_provider_received_at_id")
        batch_op.drop_index("ix_notifications_kind_received_at_id")
