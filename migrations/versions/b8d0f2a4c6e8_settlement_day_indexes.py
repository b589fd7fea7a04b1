"""Indexes for a settlement batch's day: payments paid, refunds refunded and cancels done that day

Reconciling a batch looks for ours of its day that none of its rows names; without these it read
every paid payment of the currency, every succeeded refund and every cancel to find one day's.
Each holds only the rows whose time is set. A day's transactions also look for the refunds asked
for that day, which read every refund.

Revision ID: b8d0f2a4c6e8
Revises: f7b9d1e3a5c6
Create Date: 2026-11-30 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8d0f2a4c6e8"
down_revision = "f7b9d1e3a5c6"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_payments_provider_paid_at": ("payments", ["provider", "paid_at"], "paid_at"),
    "ix_refunds_refunded_at": ("refunds", ["refunded_at"], "refunded_at"),
    "ix_cancels_cancelled_at": ("cancels", ["cancelled_at"], "cancelled_at"),
}


def upgrade():
    for name, (table, columns, set_column) in _INDEXES.items():
        where = sa.text(f"{set_column} IS NOT NULL")
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)
    op.create_index("ix_refunds_created_at", "refunds", ["created_at"])


def downgrade():
    op.drop_index("ix_refunds_created_at", table_name="refunds")
    for name, (table, _, _) in _INDEXES.items():
        op.drop_index(name, table_name=table)
