"""Payroll items: the preview's problem rows indexed alone (partial indexes), not every row

Revision ID: b3e5d7f9a1c2
Revises: b3d5f7a9c1e2
Create Date: 2026-11-29 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b3e5d7f9a1c2"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None

FLAGS = ("has_error", "has_warning")


def upgrade():
    with op.batch_alter_table("ach_items", schema=None) as batch_op:
        batch_op.drop_index("ix_ach_items_batch_id_has_error_has_warning_row_number")
        for flag in FLAGS:
            batch_op.create_index(
                f"ix_ach_items_batch_id_row_number_{flag}",
                ["batch_id", "row_number"],
                unique=False,
                sqlite_where=sa.text(f"{flag} IS 1"),
                postgresql_where=sa.text(f"{flag} IS true"),
            )


def downgrade():
    with op.batch_alter_table("ach_items", schema=None) as batch_op:
        for flag in FLAGS:
            batch_op.drop_index(f"ix_ach_items_batch_id_row_number_{flag}")
        batch_op.create_index(
            "ix_ach_items_batch_id_has_error_has_warning_row_number",
            ["batch_id", "has_error", "has_warning", "row_number"],
            unique=False,
        )
