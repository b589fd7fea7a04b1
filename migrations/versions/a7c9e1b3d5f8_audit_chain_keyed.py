"""Audit chain: every entry's hash becomes an HMAC-SHA256 under AUDIT_KEY

Revision ID: a7c9e1b3d5f8
Revises: f1a3c5e7b9d2
Create Date: 2026-11-30 01:30:00

The chain is hashed again from its first entry with the key (the entries' texts are unchanged),
and the chain head follows. Each entry is first checked against the hash it had: an entry
changed, added or removed before the upgrade stops it, naming the entry, rather than being
sealed as intact under the key. Stop every writer first (the head is locked meanwhile). Run it
with the deployment's ``AUDIT_KEY`` set: the same key must then stay, or ``audit-verify``
reports the first entry as broken. It prints the new head as a checkpoint line to keep.
Downgrading checks the keyed chain the same way and hashes it again with plain SHA-256.
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

class ChainBroken(RuntimeError):
    """The chain as stored does not add up: re-hashing it would hide that."""


_log = sa.table(
    "audit_log", sa.column("id"), sa.column("seq"), sa.column("canonical"), sa.column("prev_hash"), sa.column("hash")
)
_head = sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash"))


def _rehash(old_digest, new_digest) -> None:
    connection = op.get_bind()
    # Writers append under this row's lock; none may append while the chain is rewritten.
    head = connection.execute(
        sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == 1).with_for_update()
    ).first()
    old_prev, prev_hash, last = GENESIS_HASH, GENESIS_HASH, 0
    while True:
        rows = connection.execute(
            sa.select(_log.c.id, _log.c.seq, _log.c.canonical, _log.c.prev_hash, _log.c.hash)
            .where(_log.c.seq > last)
            .order_by(_log.c.seq)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for row_id, seq, canonical, stored_prev, stored_hash in rows:
            if seq != last + 1 or stored_prev != old_prev or stored_hash != old_digest(old_prev, canonical):
                raise ChainBroken(f"audit entry #{seq} does not add up; run audit-verify with the earlier code")
            new_hash = new_digest(prev_hash, canonical)
            updates.append({"row_id": row_id, "prev": prev_hash, "new": new_hash})
            old_prev, prev_hash, last = stored_hash, new_hash, seq
        connection.execute(
            _log.update()
            .where(_log.c.id == sa.bindparam("row_id"))
            .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("new")),
            updates,
        )
    if head is not None and (head.seq, head.hash) != (last, old_prev):
        raise ChainBroken(f"the chain head says {head.seq} entries; {last} found")
    if last:
        connection.execute(_head.update().where(_head.c.id == 1).values(seq=last, hash=prev_hash))
        print(f"audit checkpoint seq={last} hash={prev_hash} (keep this line outside the database)")


def _plain(prev: str, text: str) -> str:
    return hashlib.sha256(f"{prev}\n{text}".encode()).hexdigest()


def _keyed(prev: str, text: str) -> str:
    key = current_app.config["AUDIT_KEY"].encode()
    return hmac.new(key, f"{prev}\n{text}".encode(), hashlib.sha256).hexdigest()


def upgrade():
    _rehash(_plain, _keyed)


def downgrade():
    _rehash(_keyed, _plain)
