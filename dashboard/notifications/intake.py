"""Receive provider notifications: verify, store, acknowledge (DESIGN §5, §8 "Notifications inbox").

Intake (inside the webhook request) parses nothing it trusts: it checks the signature over the
raw bytes (pure computation, no state), then stores the bytes, the relevant headers and the
verdict in one transaction of their own, and only then acknowledges. Doing the check before
the insert rather than after it costs nothing in safety — a process dying mid-check has stored
nothing and acknowledged nothing, so the provider sends again — and keeps intake to one commit.

The dedup key is unique only among verified primary rows (a partial unique index), so a forged
POST can never take the key first; a verified redelivery hits the index and is stored as a
duplicate linked to the original. Applying runs in a job (``notifications/handlers.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.crypto import lookup_hash
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.jobs import enqueue_after_commit
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.providers.base import NotificationIdentity
from dashboard.providers.entry import Provider

#: The job that applies a stored notification (declared in notifications/tasks.py).
APPLY_NOTIFICATION = "dashboard.notifications.tasks.apply_notification_task"


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


def dedup_key(identity: NotificationIdentity) -> str | None:
    """Return the stored dedup key: the provider's key, plus a keyed hash of a secret one."""
    if identity.secret:
        return f"{identity.key}:{lookup_hash(identity.secret)}"
    return identity.key


class _Redelivery(Exception):
    """The dedup key belongs to a verified original: leave the failed insert's transaction."""


def receive(provider: Provider, headers: Mapping[str, str], body: bytes) -> Intake:
    """Verify, store and (if verified and new) queue a notification of ``provider``; return what happened."""
    # One plain copy: Werkzeug's request headers walk the whole WSGI environ on every lookup.
    headers = {name.lower(): value for name, value in headers.items()}
    webhook = provider.webhook
    verdict = webhook.verify(headers, body)
    identity = webhook.identify(body)
    key = dedup_key(identity)
    fields = {
        "provider": provider.code,
        "kind": identity.kind,
        "reference": identity.reference,
        "headers": webhook.kept(headers),
        "body": body,
    }
    if verdict is not Verdict.VALID:
        with write_transaction(db.session) as session:
            row = Notification(
                **fields, verdict=verdict.value, outcome=InboxOutcome.REJECTED.value, processed_at=clock.now()
            )
            session.add(row)
            session.flush()
            return Intake(row.id, verdict)
    # The insert is its transaction's only statement, so a redelivery (the key is taken) is stored
    # in a second transaction instead of paying a SAVEPOINT on every notification.
    try:
        with write_transaction(db.session) as session:
            row = Notification(**fields, dedup_key=key, verdict=verdict.value)
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise _Redelivery from exc
            enqueue_after_commit(session, APPLY_NOTIFICATION, row.id)
            return Intake(row.id, verdict)
    except _Redelivery:
        with write_transaction(db.session) as session:
            row = _store_duplicate(session, fields, key)
            return Intake(row.id, verdict, row.duplicate_of_id)


def _store_duplicate(session: Session, fields: dict[str, Any], key: str) -> Notification:
    original = session.scalars(
        select(Notification).where(
            Notification.provider == fields["provider"],
            Notification.dedup_key == key,
            Notification.verdict == Verdict.VALID.value,
            Notification.duplicate_of_id.is_(None),
        )
    ).one()
    row = Notification(
        **fields,
        dedup_key=key,
        verdict=Verdict.VALID.value,
        duplicate_of_id=original.id,
        outcome=InboxOutcome.DUPLICATE.value,
        processed_at=clock.now(),
        object_type=original.object_type,
        object_id=original.object_id,
    )
    session.add(row)
    session.flush()
    return row
