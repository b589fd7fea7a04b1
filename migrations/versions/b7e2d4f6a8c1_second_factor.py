"""Two-factor sign-in: each user's TOTP secret (encrypted) and their single-use recovery codes

Revision ID: b7e2d4f6a8c1
Revises: c8e2a4f6b0d1
Create Date: 2026-11-30 01:50:00

``second_factors.secret`` holds a Fernet token (``DATA_ENCRYPTION_KEYS``); ``last_step`` is the time
step of the last accepted code, so none is accepted twice. ``recovery_codes.code_hash`` is a keyed
HMAC-SHA256 (``crypto.lookup_hash``), never the code.
"""

import sqlalchemy as sa
from alembic import op

import dashboard.db

revision = "b7e2d4f6a8c1"
down_revision = "c8e2a4f6b0d1"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "second_factors",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_second_factors_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_second_factors")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", dashboard.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", dashboard.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id")),
    )


def downgrade():
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
