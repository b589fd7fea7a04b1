"""Payroll items: the status CHECK as one comparison per status, which SQLite checks without a lookup table

Revision ID: c5e7a9b1d3f4
Revises: c4e6f8a0b2d4
Create Date: 2026-11-29 22:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c5e7a9b1d3f4"
down_revision = "c4e6f8a0b2d4"
branch_labels = None
depends_on = None

CONSTRAINT = "ck_ach_items_status_valid"
STATUSES = ("valid", "invalid", "received", "accepted", "pending", "paid", "rejected")
PAYEE_NAME_INDEX = "ix_ach_items_payee_name_upper"


def _replace_check(condition: str) -> None:
    # SQLite's batch mode copies the table as reflected, and reflection cannot read this expression
    # index: it is dropped before the copy and made again after it.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index(PAYEE_NAME_INDEX, table_name="ach_items")
    with op.batch_alter_table("ach_items", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CONSTRAINT), type_="check")
        batch_op.create_check_constraint(op.f(CONSTRAINT), condition)
    if sqlite:
        op.create_index(PAYEE_NAME_INDEX, "ach_items", [sa.text("upper(payee_name)")], unique=False)


def upgrade():
    _replace_check(" OR ".join(f"status = '{status}'" for status in STATUSES))


def downgrade():
    _replace_check("status IN ({})".format(", ".join(f"'{status}'" for status in STATUSES)))
