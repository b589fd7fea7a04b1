"""Append to and verify the audit chain (DESIGN §8 "Audit chain").

Each entry's hash is an HMAC-SHA256, under ``AUDIT_KEY``, of the previous entry's hash and the
entry's canonical text. The key lives outside the database: whoever can write the tables but does
not hold the key cannot rewrite an entry, or insert one, with hashes that still add up. Deleting
the newest entries and rewinding the chain head needs no key; a checkpoint kept outside the
database catches it (:mod:`dashboard.audit.checkpoints`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.audit.models import AuditChainHead
from dashboard.audit.models import AuditLog

GENESIS_HASH = "0" * 64

#: Keys whose values are secrets wherever they appear in before/after.
_SECRET_KEYS = re.compile(r"(password|token|secret|auth_?code|hkid)", re.IGNORECASE)
_ACCOUNT_KEYS = re.compile(r"account_?(number|no)", re.IGNORECASE)


def redact_state(value: Any, key: str = "") -> Any:
    """Return ``value`` with secrets masked: tokens fully, account numbers beyond the last 4."""
    if isinstance(value, Mapping):
        return {str(k): redact_state(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_state(item, key) for item in value]
    if value is None:
        return None
    if _SECRET_KEYS.search(key):
        return "[redacted]"
    if _ACCOUNT_KEYS.search(key):
        text = str(value)
        return "*" * max(len(text) - 4, 0) + text[-4:]
    return value


def _canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _stored(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Redact ``state`` and normalise it to what the JSON column gives back."""
    if state is None:
        return None
    return json.loads(_canonical(redact_state(dict(state))))


def chain_digest(key: bytes, prev_hash: str, canonical: str) -> str:
    """Return an entry's hash: the HMAC-SHA256 under ``key`` of the previous hash and its text."""
    return hmac.new(key, f"{prev_hash}\n{canonical}".encode(), hashlib.sha256).hexdigest()


def _digest(prev_hash: str, canonical: str) -> str:
    return chain_digest(current_app.config["AUDIT_KEY"].encode(), prev_hash, canonical)


def _row_fields(row: AuditLog) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.created_at.isoformat(),
        "actor_id": row.actor_id,
        "actor": row.actor_label,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "ip": row.ip,
        "before": row.before,
        "after": row.after,
    }


def _locked_chain_head(session: Session) -> AuditChainHead:
    """Create the chain head if missing (race-free) and lock it for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(AuditChainHead)
        .values(id=1, seq=0, hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return session.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one()


#: Where a storefront API request names its key, as the audit log's actor (set by the API).
API_ACTOR = "api_actor"


def someone_acts(actor_id: int | None) -> bool:
    """Return True when a staff member (``actor_id``) or a storefront's API key asks for the action
    being done, so it is audited; False for jobs and the demo."""
    return actor_id is not None or (has_request_context() and API_ACTOR in g)


def _current_actor() -> tuple[int | None, str]:
    if has_request_context() and API_ACTOR in g:
        return None, g.get(API_ACTOR)
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.email
    return None, "system"


def record(
    session: Session,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor_id: int | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    """Append one entry to the chain inside the caller's transaction.

    The chain head is locked for the rest of the transaction, so appends are serial;
    the caller commits (on SQLite inside :func:`dashboard.db.write_transaction`).

    :param action: dotted verb such as ``auth.login_failed`` or ``user.role_changed``
    :param object_type: kind of object acted on (``user``, ``payment`` …)
    :param object_id: its id
    :param before: state before (secrets are redacted here)
    :param after: state after (secrets are redacted here)
    :param actor_id: who acted, when not the logged-in user
    :param actor_label: how to name the actor, when not the logged-in user
    """
    if actor_label is None:
        actor_id, actor_label = _current_actor()
    head = _locked_chain_head(session)
    row = AuditLog(
        seq=head.seq + 1,
        created_at=clock.now(),
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip=request.remote_addr if has_request_context() else None,
        before=_stored(before),
        after=_stored(after),
        prev_hash=head.hash,
    )
    row.canonical = _canonical(_row_fields(row))
    row.hash = _digest(row.prev_hash, row.canonical)
    head.seq, head.hash = row.seq, row.hash
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class ChainBreak:
    """The first row at which the chain stops adding up."""

    seq: int
    row_id: int
    reason: str


def verify_chain(session: Session, batch: int = 2000) -> tuple[int, ChainBreak | None]:
    """Recompute the chain; return (rows checked, first break or None)."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for row in _rows_in_order(session, batch):
        reason = None
        if row.seq != expected_seq:
            reason = f"sequence jumps from {expected_seq - 1} to {row.seq}"
        elif row.prev_hash != prev_hash:
            reason = "previous-hash link does not match the row before"
        elif row.canonical != _canonical(_row_fields(row)):
            reason = "row fields differ from the text that was hashed"
        elif row.hash != _digest(row.prev_hash, row.canonical):
            reason = "hash does not match its content"
        if reason:
            return checked, ChainBreak(row.seq, row.id, reason)
        prev_hash, expected_seq, checked = row.hash, row.seq + 1, checked + 1
    head = session.get(AuditChainHead, 1)
    if head is not None and (head.seq, head.hash) != (checked, prev_hash):
        return checked, ChainBreak(checked + 1, 0, f"chain head says {head.seq} rows; {checked} found")
    return checked, None


def _rows_in_order(session: Session, batch: int) -> Iterator[AuditLog]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditLog).where(AuditLog.seq > last).order_by(AuditLog.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()
