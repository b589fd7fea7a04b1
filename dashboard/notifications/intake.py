"""Receive provider notifications: verify, store, acknowledge (DESIGN §5, §8 "Notifications inbox").

Intake (inside the webhook request) parses nothing it trusts: it checks the signature over the
raw bytes (pure computation, no state), then stores the bytes, the relevant headers and the
verdict with one ``INSERT … RETURNING`` in a transaction of its own — whose only other statement
counts it in the notification health rollup, one upsert; on SQLite a verified one shares its
transaction with those the process's other threads store at the same moment (``GroupCommit``) —
and only then acknowledges.
Doing the check before the insert rather than after it costs nothing in safety — a process dying
mid-check has stored nothing and acknowledged nothing, so the provider sends again — and keeps
intake to one statement and one commit. Nothing is queued: the appliers pick up stored rows
(``notifications/tasks.py``), so a notification costs one durable write.

The dedup key is unique only among verified primary rows (a partial unique index), so a forged
POST can never take the key first; a verified redelivery hits the index and is stored as a
duplicate linked to the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError

from dashboard import clock
from dashboard.crypto import lookup_hash
from dashboard.db import clipped
from dashboard.db import inserted_together
from dashboard.db import write_connection
from dashboard.extensions import db
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.providers.base import UNPARSEABLE
from dashboard.providers.base import NotificationIdentity
from dashboard.providers.entry import Provider
from dashboard.reports.notification_rollups import count_arrival

#: The job that applies a stored notification again (declared in notifications/tasks.py).
APPLY_NOTIFICATION = "dashboard.notifications.tasks.apply_notification_task"

_TABLE = Notification.__table__
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
#: The insert of a batch shared with other threads (SQLite only): a redelivery whose key is taken
#: returns nothing instead of undoing the batch, and is then stored alone as a duplicate.
_INSERT_UNLESS_TAKEN = sqlite_insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.id)
_KEY_LENGTH = _TABLE.c.dedup_key.type.length


@dataclass(frozen=True)
class Checked:
    """A POST whose signature was checked, as it will be stored."""

    verdict: Verdict
    fields: dict[str, Any]
    dedup_key: str | None

    @property
    def verified(self) -> bool:
        """Return True when the signature holds (the provider really sent it)."""
        return self.verdict is Verdict.VALID


@dataclass(frozen=True)
class Intake:
    """What intake did with one POST."""

    notification_id: int
    verdict: Verdict
    duplicate_of_id: int | None = None

    @property
    def accepted(self) -> bool:
        """Return True when the provider should be told "received" (stored and verified)."""
        return self.verdict is Verdict.VALID


def without_body(checked: Checked) -> Checked:
    """Return an unverified POST to be stored without its body: its size instead."""
    body = checked.fields["body"]
    return replace(checked, fields={**checked.fields, "body": b"", "dropped_body_bytes": len(body)})


def dedup_key(identity: NotificationIdentity) -> str | None:
    """Return the stored dedup key: the provider's key, plus a keyed hash of a secret one.

    A key longer than the column, or holding a NUL (which PostgreSQL's text refuses), is stored as
    its readable start and a digest of all of it: still unique, and never a database error that
    would lose a notification the provider really sent.
    """
    key = f"{identity.key}:{lookup_hash(identity.secret)}" if identity.secret else identity.key
    if key is None or (len(key) <= _KEY_LENGTH and "\x00" not in key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{clipped(key, _KEY_LENGTH - len(digest) - 1) or ''}#{digest}"


def check(provider: Provider, headers: Mapping[str, str], body: bytes) -> Checked:
    """Verify a POST of ``provider`` and read what it says it is; store nothing."""
    # One plain copy: Werkzeug's request headers walk the whole WSGI environ on every lookup.
    headers = {name.lower(): value for name, value in headers.items()}
    webhook = provider.webhook
    identity = webhook.identify(body)
    fields = {
        "provider": provider.code,
        # A kind of nothing but NULs clips to nothing: stored as unreadable, never refused.
        "kind": clipped(identity.kind, _TABLE.c.kind.type.length) or UNPARSEABLE,
        "reference": clipped(identity.reference, _TABLE.c.reference.type.length),
        "headers": webhook.kept(headers),
        "body": body,
        "received_at": clock.now(),
        "event_at": webhook.event_time(identity, headers),
    }
    return Checked(webhook.verify(headers, body), fields, dedup_key(identity))


def store(checked: Checked) -> Intake:
    """Store a checked POST; a verified new one waits for the appliers. Return what happened.

    A connection found dead (the database restarted) is replaced and the insert made once more:
    nothing was acknowledged yet, and if the first insert did commit, the second is stored as its
    duplicate.
    """
    try:
        return _store(checked)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _store(checked)


def receive(provider: Provider, headers: Mapping[str, str], body: bytes) -> Intake:
    """Verify and store a notification of ``provider``; return what happened."""
    return store(check(provider, headers, body))


def _store(checked: Checked) -> Intake:
    if not checked.verified:
        row = {
            **checked.fields,
            "verdict": checked.verdict.value,
            "outcome": InboxOutcome.REJECTED.value,
            "processed_at": clock.now(),
        }
        with write_connection(db.engine) as connection:
            return Intake(_insert(connection, row), checked.verdict)
    # A verified notification waits to be applied: the health rollup counts it only then, so its
    # insert is the transaction's only statement, and may share its transaction with those other
    # threads store at the same time (SQLite). A redelivery (the key is taken) is stored alone, and
    # in a second transaction instead of paying a SAVEPOINT on every notification.
    row = {**checked.fields, "dedup_key": checked.dedup_key, "verdict": Verdict.VALID.value}
    notification_id = inserted_together(db.engine, _INSERT_UNLESS_TAKEN, row)
    if notification_id is not None:
        return Intake(notification_id, checked.verdict)
    try:
        with write_connection(db.engine) as connection:
            return Intake(_insert(connection, row), checked.verdict)
    except IntegrityError:
        pass
    with write_connection(db.engine) as connection:
        original = _original(connection, row)
        duplicate = {
            **row,
            "duplicate_of_id": original.id,
            "outcome": InboxOutcome.DUPLICATE.value,
            "processed_at": clock.now(),
            "object_type": original.object_type,
            "object_id": original.object_id,
        }
        return Intake(_insert(connection, duplicate), checked.verdict, original.id)


def _insert(connection: Connection, row: dict[str, Any]) -> int:
    """Insert ``row`` and count it in the notification health rollup unless it waits to be applied."""
    notification_id = connection.execute(_INSERT, row).scalar_one()
    count_arrival(connection, {"outcome": InboxOutcome.PENDING.value, **row})
    return notification_id


def _original(connection: Connection, row: dict[str, Any]):
    return connection.execute(
        select(_TABLE.c.id, _TABLE.c.object_type, _TABLE.c.object_id).where(
            _TABLE.c.provider == row["provider"],
            _TABLE.c.dedup_key == row["dedup_key"],
            _TABLE.c.verdict == Verdict.VALID.value,
            _TABLE.c.duplicate_of_id.is_(None),
        )
    ).one()
