"""Customs declarations of paid payments (Antom declare): one row per declaration request

Revision ID: e9ce66486e6f
Revises: e9b2d4f6a8c1
Create Date: 2026-11-30 00:47:39
"""

import sqlalchemy as sa
from alembic import op

import dashboard.db

revision = "e9ce66486e6f"
down_revision = "e9b2d4f6a8c1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "declarations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("customs_code", sa.String(length=128), nullable=False),
        sa.Column("customs_region", sa.String(length=2), nullable=False),
        sa.Column("merchant_customs_code", sa.String(length=20), nullable=False),
        sa.Column("merchant_customs_name", sa.String(length=256), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_declaration_id", sa.String(length=64), nullable=True),
        sa.Column("customs_order_id", sa.String(length=64), nullable=True),
        sa.Column("customs_answered_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("requested_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("result_code", sa.String(length=64), nullable=True),
        sa.Column("result_message", sa.String(length=256), nullable=True),
        sa.Column("created_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'submitted', 'declared', 'refused', 'rejected')",
            name=op.f("ck_declarations_status_valid"),
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_declarations_positive_amount")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_declarations_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_declarations_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
        sa.UniqueConstraint("request_id", name=op.f("uq_declarations_request_id")),
    )
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.create_index("ix_declarations_payment_id_id", ["payment_id", "id"], unique=False)
        batch_op.create_index(
            "ix_declarations_status_updated_at_id", ["status", "updated_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_declarations_status_updated_at_id")
        batch_op.drop_index("ix_declarations_payment_id_id")

    op.drop_table("declarations")
