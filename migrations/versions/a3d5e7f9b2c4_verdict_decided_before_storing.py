"""A notification's verdict is decided before it is stored: no 'unchecked' verdict

Revision ID: a3d5e7f9b2c4
Revises: f2a9c4e6d8b1
Create Date: 2026-11-29 13:00:00

"""

from alembic import op

revision = "a3d5e7f9b2c4"
down_revision = "f2a9c4e6d8b1"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_notifications_verdict_valid"


def _verdicts(*values: str) -> str:
    return "verdict IN ({})".format(", ".join(f"'{value}'" for value in values))


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _verdicts("valid", "invalid", "missing"))


def downgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), _verdicts("unchecked", "valid", "invalid", "missing"))
