"""Report rollups: outcomes by wallet, failures by result code, time to a final status; payments keep
when they finished and are listed by result code

Revision ID: c4e6f8a0b2d4
Revises: d8f2b4a6c1e3
Create Date: 2026-11-29 22:30:00

"""

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app
from flask import has_app_context
from sqlalchemy.orm import Session

import dashboard.db

revision = "c4e6f8a0b2d4"
down_revision = "d8f2b4a6c1e3"
branch_labels = None
depends_on = None

#: The rollups this revision adds, filled on upgrade.
NEW_ROLLUPS = ("daily_wallets", "daily_failures", "finish_times")

#: The new status of a payment's status-change event, per database (its summary says [old, new]).
_NEW_STATUS = {
    "sqlite": "json_extract(e.summary, '$.status[1]')",
    "postgresql": "(e.summary -> 'status' ->> 1)",
}

# A finished payment finished when its first status change to anything but processing was written
# (pending → processing is the only move that stays open); without such an event, when it was paid
# or last updated.
_FINISHED_AT = """
UPDATE payments SET finished_at = COALESCE(
    (SELECT min(e.created_at) FROM events e
     WHERE e.object_type = 'payment' AND e.object_id = CAST(payments.id AS VARCHAR(64))
       AND e.kind = 'status_changed' AND {new_status} <> 'processing'),
    paid_at, updated_at)
WHERE status NOT IN ('pending', 'processing')
"""


def upgrade():
    op.create_table(
        "daily_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("result_code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_failures")),
        sa.UniqueConstraint(
            "day",
            "provider",
            "currency",
            "result_code",
            name="uq_daily_failures_day_provider_currency_result_code",
        ),
    )
    op.create_table(
        "finish_times",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("up_to_seconds", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finish_times")),
        sa.UniqueConstraint(
            "day",
            "provider",
            "currency",
            "up_to_seconds",
            name="uq_finish_times_day_provider_currency_up_to_seconds",
        ),
    )
    op.create_table(
        "daily_wallets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("wallet", sa.String(length=32), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_wallets")),
        sa.UniqueConstraint(
            "day", "provider", "currency", "wallet", name="uq_daily_wallets_day_provider_currency_wallet"
        ),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", dashboard.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_payments_result_code_created_at_id", ["result_code", "created_at", "id"], unique=False
        )
    bind = op.get_bind()
    bind.exec_driver_sql(_FINISHED_AT.format(new_status=_NEW_STATUS[bind.dialect.name]))
    _rebuild_rollups(bind)


def _rebuild_rollups(bind) -> None:
    """Fill the new rollups from the payments, as ``flask rollups rebuild`` does."""
    from dashboard.reports.rebuild import rebuild_rollups

    zone = current_app.config["DISPLAY_TIMEZONE"] if has_app_context() else "Asia/Hong_Kong"
    session = Session(bind=bind)
    rebuild_rollups(session, ZoneInfo(zone), replace=True, tables=NEW_ROLLUPS)
    session.flush()


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_result_code_created_at_id")
        batch_op.drop_column("finished_at")
    op.drop_table("daily_wallets")
    op.drop_table("finish_times")
    op.drop_table("daily_failures")
