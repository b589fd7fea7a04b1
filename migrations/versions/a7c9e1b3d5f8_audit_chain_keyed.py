"""Audit chain: every entry's hash becomes an HMAC-SHA256 under AUDIT_KEY

Revision ID: a7c9e1b3d5f8
Revises: f1a3c5e7b9d2
Create Date: 2026-11-30 01:30:00

The chain is hashed again from its first entry with the key (the entries' texts are unchanged),
and the chain head follows. Run it with the deployment's ``AUDIT_KEY`` set: the same key must
then stay, or ``audit-verify`` reports the first entry as broken. Downgrading hashes it again
with the plain SHA-256 of before.
"""

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "a7c9e1b3d5f8"
down_revision = "f1a3c5e7b9d2"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BATCH = 2_000

_log = sa.table(
    "audit_log", sa.column("id"), sa.column("seq"), sa.column("canonical"), sa.column("prev_hash"), sa.column("hash")
)
_head = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash"))


def _rehash(digest) -> None:
    connection = op.get_bind()
    prev_hash, last_seq, last = GENESIS_HASH, 0, 0
    while True:
        rows = connection.execute(
            sa.select(_log.c.id, _log.c.seq, _log.c.canonical).where(_log.c.seq > last_seq).order_by(_log.c.seq).limit(BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for row_id, seq, canonical in rows:
            new_hash = digest(prev_hash, canonical)
            updates.append({"row_id": row_id, "prev": prev_hash, "new": new_hash})
            prev_hash, last_seq = new_hash, seq
        connection.execute(
            _log.update().where(_log.c.id == sa.bindparam("row_id")).values(
                prev_hash=sa.bindparam("prev"), hash=sa.bindparam("new")
            ),
            updates,
        )
        last = last_seq
    if last:
        connection.execute(_head.update().where(_head.c.id == 1).values(seq=last, hash=prev_hash))


def upgrade():
    key = current_app.config["AUDIT_KEY"].encode()
    _rehash(lambda prev, text: hmac.new(key, f"{prev}\n{text}".encode(), hashlib.sha256).hexdigest())


def downgrade():
    _rehash(lambda prev, text: hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest())
