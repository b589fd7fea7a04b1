"""A refund whose provider gave no final word in time, and whose records do not settle it, is 'unresolved'

Revision ID: b8e2d4f6a1c3
Revises: c4e8a1f6b2d9
Create Date: 2026-11-29 14:00:00

"""

from alembic import op

revision = "b8e2d4f6a1c3"
down_revision = "c4e8a1f6b2d9"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_refunds_status_valid"
BEFORE = ("awaiting_approval", "rejected", "submitted", "processing", "succeeded", "failed")


def _statuses(*values: str) -> str:
    return "status IN ({})".format(", ".join(f"'{value}'" for value in values))


def upgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _statuses(*BEFORE, "unresolved"))


def downgrade():
    # An unresolved refund goes back to processing, the status it had before it was left to staff.
    op.execute("UPDATE refunds SET status = 'processing' WHERE status = 'unresolved'")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _statuses(*BEFORE))
