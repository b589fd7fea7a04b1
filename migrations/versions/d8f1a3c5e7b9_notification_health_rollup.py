"""Notification health: each notification's event time, and a rollup per local day of receipt, provider, outcome and delay

Revision ID: d8f1a3c5e7b9
Revises: c5e7a9b1d3f4
Create Date: 2026-11-29 23:00:00

The rollup is filled from the stored notifications. Their event time was not kept before, so
their delay is unknown (bucket -1); only notifications received from now on have one.
"""

from collections import Counter
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app

import dashboard.db

revision = "d8f1a3c5e7b9"
down_revision = "c5e7a9b1d3f4"
branch_labels = None
depends_on = None

#: The delay bucket of a notification whose event time is unknown.
NO_DELAY = -1
BATCH = 10_000


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_at", dashboard.db.UTCDateTime(timezone=True), nullable=True))
    tallies = op.create_table(
        "notification_tallies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("delay_bucket", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_tallies")),
        sa.UniqueConstraint(
            "day",
            "provider",
            "outcome",
            "delay_bucket",
            name="uq_notification_tallies_day_provider_outcome_delay_bucket",
        ),
    )
    _fill(tallies)


def _fill(tallies: sa.Table) -> None:
    """Count the stored notifications per local day of receipt, provider and outcome."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    notifications = sa.table(
        "notifications",
        sa.column("provider"),
        sa.column("outcome"),
        sa.column("received_at", dashboard.db.UTCDateTime(timezone=True)),
    )
    counts: Counter = Counter()
    query = sa.select(notifications.c.provider, notifications.c.outcome, notifications.c.received_at)
    for provider, outcome, received_at in op.get_bind().execute(query.execution_options(yield_per=BATCH)):
        counts[received_at.astimezone(zone).date(), provider, outcome] += 1
    rows = [
        {"day": day, "provider": provider, "outcome": outcome, "delay_bucket": NO_DELAY, "count": count}
        for (day, provider, outcome), count in sorted(counts.items())
    ]
    if rows:
        op.bulk_insert(tallies, rows)


def downgrade():
    op.drop_table("notification_tallies")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("event_at")
