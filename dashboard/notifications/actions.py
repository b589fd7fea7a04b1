"""What staff do with a notification: reprocess it, or ask the provider about what it names."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.i18n import DEFAULT_LANGUAGE
from dashboard.i18n import in_language
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.notifications.forms import OUTCOME_LABELS
from dashboard.notifications.handlers import record_outcome
from dashboard.notifications.intake import APPLY_NOTIFICATION
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.payments import service as payments
from dashboard.payments.changes import find_payment
from dashboard.payments.changes import find_refund
from dashboard.payments.models import Refund
from dashboard.providers.base import Subject
from dashboard.providers.registry import NOTIFYING
from dashboard.statuses import status_label

#: The outcomes a notification may be reprocessed from.
REPROCESSABLE = frozenset({InboxOutcome.FAILED, InboxOutcome.UNMATCHED, InboxOutcome.PENDING})


class ReprocessRefused(ValueError):
    """Reprocess is not possible for this notification (unverified, a duplicate, missing)."""


def reprocess_refusal(row: Notification) -> str | None:
    """Return why ``row`` cannot be reprocessed, or None when it can."""
    if row.verdict != Verdict.VALID:
        return _l("a notification whose signature did not verify is never applied")
    if row.duplicate_of_id is not None:
        return _l("a duplicate of notification %(id)s; reprocess that one", id=row.duplicate_of_id)
    if row.outcome not in REPROCESSABLE:
        # Applying it again would only add a confirmation and hide that it was applied.
        return _l(
            "it was %(outcome)s already; only failed, unmatched or pending ones are",
            outcome=OUTCOME_LABELS.get(row.outcome, row.outcome),
        )
    return None


def reprocess(notification_id: int) -> None:
    """Queue a failed, unmatched or stuck notification to be applied again (audited).

    :raises ReprocessRefused: missing, unverified, a duplicate (those are never applied), or
        applied or late already
    """
    with write_transaction(db.session) as session:
        row = locked(session, Notification, notification_id)
        if row is None:
            raise ReprocessRefused(_l("no such notification"))
        refusal = reprocess_refusal(row)
        if refusal is not None:
            raise ReprocessRefused(refusal)
        before = {"outcome": row.outcome, "processing_error": row.processing_error}
        record_outcome(session, row, InboxOutcome.PENDING)
        row.processed_at = None
        row.processing_error = None
        audit.record(
            session,
            "notification.reprocessed",
            object_type=ObjectType.NOTIFICATION,
            object_id=row.id,
            before=before,
            after={"outcome": row.outcome},
        )
        enqueue_after_commit(session, APPLY_NOTIFICATION, row.id)


def can_ask_provider(row: Notification) -> bool:
    """Return True when the notification is linked to a payment or agreement, or names one by reference."""
    linked = row.object_type in (ObjectType.PAYMENT, ObjectType.AGREEMENT) and bool(row.object_id)
    return linked or bool(row.reference)


def ask_provider(notification_id: int) -> str:
    """Run the inquiry for what the notification is about now; return a sentence saying what came back.

    The object is the one processing linked, or — for a pending, failed or unmatched row — the
    one its reference names (our or the provider's payment or refund id, or the consult's state).
    """
    row = db.session.get(Notification, notification_id)
    if row is None:
        raise ReprocessRefused(_l("no such notification"))
    subject = _subject(row)
    db.session.rollback()
    if subject is None:
        return _l("This notification names nothing the provider can be asked about.")
    about, object_id = subject
    if about is Subject.REFUND:
        return _l(
            "Refund %(id)s: %(status)s.",
            id=object_id,
            status=status_label(payments.inquire_refund(object_id)),
        )
    if about is Subject.PAYMENT:
        return _l(
            "Payment %(id)s: %(status)s.",
            id=object_id,
            status=status_label(payments.inquire_payment(object_id)),
        )
    status = agreements.activate(object_id) if about is Subject.AUTHORIZATION else None
    agreement = db.session.get(Agreement, object_id)
    status = status or (agreement.status if agreement else "missing")
    return _l("Agreement %(id)s: %(status)s.", id=object_id, status=status_label(status))


def _subject(row: Notification) -> tuple[Subject, int] | None:
    """Return what a notification is about and that object's id, or None."""
    named = NOTIFYING[row.provider].webhook.subject_of(row.kind)
    if row.object_type == ObjectType.PAYMENT and row.object_id:
        payment_id = int(row.object_id)
        refund_id = _refund_of(row.id, payment_id)
        if refund_id is None and named is Subject.REFUND and row.reference:
            # A refund's news that changed nothing (a confirmation) still names the refund.
            found = find_refund(db.session, row.reference, row.reference, lock=False)
            refund_id = found.id if found is not None and found.payment_id == payment_id else None
        return (Subject.REFUND, refund_id) if refund_id is not None else (Subject.PAYMENT, payment_id)
    if row.object_type == ObjectType.AGREEMENT and row.object_id:
        return (named if named is Subject.AUTHORIZATION else Subject.AGREEMENT), int(row.object_id)
    reference = row.reference
    if not reference:
        return None
    if named is Subject.PAYMENT:
        found = find_payment(db.session, row.provider, reference, reference, lock=False)
        return (named, found.id) if found else None
    if named is Subject.REFUND:
        found = find_refund(db.session, reference, reference, lock=False)
        return (named, found.id) if found else None
    found = agreements.find_by_auth_state(db.session, reference, lock=False)
    return (named, found.id) if found else None


def _in_english(text: str) -> str:
    """Return ``text`` (marked lazily) in English, as the audit log keeps every entry."""
    with in_language(DEFAULT_LANGUAGE):
        return str(text)


def ask_provider_audited(notification_id: int) -> str:
    """Ask the provider as :func:`ask_provider` does, then record who asked and the answer in the audit log.

    :raises ReprocessRefused: no such notification
    """
    answer = ask_provider(notification_id)
    with write_transaction(db.session) as session:
        audit.record(
            session,
            "notification.provider_asked",
            object_type=ObjectType.NOTIFICATION,
            object_id=notification_id,
            after={"answer": _in_english(answer)},
        )
    return answer


def _refund_of(notification_id: int, payment_id: int) -> int | None:
    """Return the refund a notification changed, read from the timeline it wrote."""
    summary = db.session.scalars(
        select(Event.summary).where(
            Event.notification_id == notification_id, Event.kind == EventKind.REFUND_STATUS_CHANGED
        )
    ).first()
    refund_id = (summary or {}).get("refund_id")
    if refund_id is None:
        return None
    refund = db.session.get(Refund, refund_id)
    return refund.id if refund is not None and refund.payment_id == payment_id else None
