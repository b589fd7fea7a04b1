"""Refund rollups: refunds by day, provider, status, currency, reason and failure code; approval waits

Revision ID: c7e1a3f5b9d2
Revises: b3e5d7f9a1c2
Create Date: 2026-11-29 22:40:00

The tables are filled from the refunds already stored, as the app keeps them from now on: by the
local day (``DISPLAY_TIMEZONE``) each refund was asked for.
"""

import bisect
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

import dashboard.db

revision = "c7e1a3f5b9d2"
down_revision = "b3e5d7f9a1c2"
branch_labels = None
depends_on = None

#: Where each approval-wait bucket starts, in seconds (as the app's WAIT_BUCKETS at this revision).
WAIT_BUCKETS = (0, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)


def upgrade():
    totals = op.create_table(
        "refund_daily_totals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("result_code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_daily_totals")),
        sa.UniqueConstraint(
            "day",
            "provider",
            "status",
            "currency",
            "reason",
            "result_code",
            name="uq_refund_daily_totals_bucket",
        ),
    )
    waits = op.create_table(
        "refund_approval_waits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("from_seconds", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("longest_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_approval_waits")),
        sa.UniqueConstraint(
            "day",
            "provider",
            "currency",
            "from_seconds",
            name="uq_refund_approval_waits_bucket",
        ),
    )
    _fill(totals, waits)


def _fill(totals: sa.Table, waits: sa.Table) -> None:
    """Count the refunds stored so far into the new tables."""
    zone = ZoneInfo(current_app.config.get("DISPLAY_TIMEZONE") or "Asia/Hong_Kong")
    when = dashboard.db.UTCDateTime()
    refunds = sa.table(
        "refunds",
        sa.column("payment_id"),
        sa.column("created_at", when),
        sa.column("currency"),
        sa.column("reason"),
        sa.column("status"),
        sa.column("result_code"),
        sa.column("amount_minor"),
        sa.column("decided_at", when),
    )
    payments = sa.table("payments", sa.column("id"), sa.column("provider"))
    rows = op.get_bind().execute(
        sa.select(
            refunds.c.created_at,
            payments.c.provider,
            refunds.c.currency,
            refunds.c.reason,
            refunds.c.status,
            refunds.c.result_code,
            refunds.c.amount_minor,
            refunds.c.decided_at,
        ).join(payments, payments.c.id == refunds.c.payment_id)
    )
    counted: dict[tuple, list[int]] = {}
    waited: dict[tuple, list[int]] = {}
    for asked, provider, currency, reason, status, code, amount, decided in rows:
        day = asked.astimezone(zone).date()
        bucket = (day, provider, status, currency, reason or "", (code or "") if status == "failed" else "")
        sums = counted.setdefault(bucket, [0, 0])
        sums[0], sums[1] = sums[0] + 1, sums[1] + amount
        if decided is not None:
            seconds = max(int((decided - asked).total_seconds()), 0)
            start = WAIT_BUCKETS[bisect.bisect_right(WAIT_BUCKETS, seconds) - 1]
            wait = waited.setdefault((day, provider, currency, start), [0, 0])
            wait[0], wait[1] = wait[0] + 1, max(wait[1], seconds)
    names = ("day", "provider", "status", "currency", "reason", "result_code", "count", "amount_minor")
    if counted:
        op.bulk_insert(totals, [dict(zip(names, (*key, *sums), strict=True)) for key, sums in counted.items()])
    names = ("day", "provider", "currency", "from_seconds", "count", "longest_seconds")
    if waited:
        op.bulk_insert(waits, [dict(zip(names, (*key, *sums), strict=True)) for key, sums in waited.items()])


def downgrade():
    op.drop_table("refund_approval_waits")
    op.drop_table("refund_daily_totals")
