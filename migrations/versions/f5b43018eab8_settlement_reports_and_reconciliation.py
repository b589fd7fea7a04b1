"""Settlement: imported report files, their rows and totals, the batches they settle, what reconciling found

Revision ID: f5b43018eab8
Revises: a7c9e1b3d5f8
Create Date: 2026-11-30 00:47:05.446296

"""

import sqlalchemy as sa
from alembic import op

import dashboard.db

# revision identifiers, used by Alembic.
revision = "f5b43018eab8"
down_revision = "a7c9e1b3d5f8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "settlement_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("batch_reference", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("imported_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("imported_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('transactions', 'settlement_details', 'settlement_summary')",
            name=op.f("ck_settlement_files_kind_valid"),
        ),
        sa.CheckConstraint(
            "provider IN ('antom', 'worldpay', 'hkach')", name=op.f("ck_settlement_files_provider_valid")
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["users.id"],
            name=op.f("fk_settlement_files_imported_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_files")),
        sa.UniqueConstraint("provider", "name", "sha256", name="uq_settlement_files_provider_name_sha256"),
    )
    op.create_table(
        "settlement_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("details_file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("summary_file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("summary_net_minor", sa.BigInteger(), nullable=True),
        sa.Column("summary_fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("summary_count", sa.Integer(), nullable=True),
        sa.Column("difference_count", sa.Integer(), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("reconciled_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('antom', 'worldpay', 'hkach')", name=op.f("ck_settlement_batches_provider_valid")
        ),
        sa.CheckConstraint(
            "state IN ('waiting', 'balanced', 'differences', 'resolved')",
            name=op.f("ck_settlement_batches_state_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["details_file_id"],
            ["settlement_files.id"],
            name=op.f("fk_settlement_batches_details_file_id_settlement_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["summary_file_id"],
            ["settlement_files.id"],
            name=op.f("fk_settlement_batches_summary_file_id_settlement_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_batches")),
        sa.UniqueConstraint("provider", "reference", name="uq_settlement_batches_provider_reference"),
    )
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_batches_provider_id", ["provider", "id"], unique=False)
        batch_op.create_index("ix_settlement_batches_state_id", ["state", "id"], unique=False)

    op.create_table(
        "settlement_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("batch_reference", sa.String(length=64), nullable=True),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("original_provider_id", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("settlement_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("settlement_currency", sa.String(length=3), nullable=True),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            (
                "kind = 'payment' OR kind = 'refund' OR kind = 'cancel' OR kind = "
                "'refund_reversal' OR kind = 'payment_reversal' OR kind = 'dispute' OR kind = "
                "'fee_adjustment' OR kind = 'total'"
            ),
            name=op.f("ck_settlement_entries_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["settlement_files.id"],
            name=op.f("fk_settlement_entries_file_id_settlement_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_entries")),
    )
    with op.batch_alter_table("settlement_entries", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_entries_file_id_line", ["file_id", "line"], unique=False)

    op.create_table(
        "settlement_totals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("file_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("batch_reference", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("settlement_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("settlement_currency", sa.String(length=3), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            (
                "kind IN ('payment', 'refund', 'cancel', 'refund_reversal', 'payment_reversal', "
                "'dispute', 'fee_adjustment', 'total')"
            ),
            name=op.f("ck_settlement_totals_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["settlement_files.id"],
            name=op.f("fk_settlement_totals_file_id_settlement_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_totals")),
    )
    with op.batch_alter_table("settlement_totals", schema=None) as batch_op:
        batch_op.create_index("ix_settlement_totals_file_id_line", ["file_id", "line"], unique=False)

    op.create_table(
        "settlement_results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cancel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("their_minor", sa.BigInteger(), nullable=True),
        sa.Column("our_minor", sa.BigInteger(), nullable=True),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("resolved_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resolved_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            (
                "outcome = 'matched' OR outcome = 'amount_mismatch' OR outcome = 'missing_ours' "
                "OR outcome = 'missing_theirs' OR outcome = 'status_mismatch' OR outcome = 'fee' "
                "OR outcome = 'totals_mismatch'"
            ),
            name=op.f("ck_settlement_results_outcome_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["settlement_batches.id"],
            name=op.f("fk_settlement_results_batch_id_settlement_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cancel_id"],
            ["cancels.id"],
            name=op.f("fk_settlement_results_cancel_id_cancels"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["settlement_entries.id"],
            name=op.f("fk_settlement_results_entry_id_settlement_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_settlement_results_payment_id_payments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["refunds.id"],
            name=op.f("fk_settlement_results_refund_id_refunds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_settlement_results_resolved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_results")),
    )
    with op.batch_alter_table("settlement_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_settlement_results_batch_id_outcome_id", ["batch_id", "outcome", "id"], unique=False
        )
        batch_op.create_index("ix_settlement_results_payment_id", ["payment_id"], unique=False)


def downgrade():
    with op.batch_alter_table("settlement_results", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_results_payment_id")
        batch_op.drop_index("ix_settlement_results_batch_id_outcome_id")

    op.drop_table("settlement_results")
    with op.batch_alter_table("settlement_totals", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_totals_file_id_line")

    op.drop_table("settlement_totals")
    with op.batch_alter_table("settlement_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_entries_file_id_line")

    op.drop_table("settlement_entries")
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_settlement_batches_state_id")
        batch_op.drop_index("ix_settlement_batches_provider_id")

    op.drop_table("settlement_batches")
    op.drop_table("settlement_files")
