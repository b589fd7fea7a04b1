"""Receive provider notifications, then apply each verified one exactly once (DESIGN §5, §8).

Intake (inside the webhook request) parses nothing it trusts: it checks the signature over the
raw bytes (pure computation, no state), then stores the bytes, the relevant headers and the
verdict in one transaction of their own, and only then acknowledges. Doing the check before
the insert rather than after it costs nothing in safety — a process dying mid-check has stored
nothing and acknowledged nothing, so the provider sends again — and keeps intake to one commit.

The dedup key is unique only among verified primary rows (a partial unique index), so a forged
POST can never take the key first; a verified redelivery hits the index and is stored as a
duplicate linked to the original. Applying runs in a job: it re-reads the row under a lock, so
two workers (or a worker and the sweeper) apply a notification once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.audit import service as audit
from dashboard.crypto import lookup_hash
from dashboard.crypto import lookup_hashes
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.jobs import enqueue_after_commit
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Outcome as Result
from dashboard.notifications.models import Verdict
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import ANTOM_REFUND_STATUS
from dashboard.payments.states import IgnoredEvent
from dashboard.payments.states import InvalidTransition
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import antom_payment_result_event
from dashboard.payments.states import clip
from dashboard.payments.states import worldpay_payment_event
from dashboard.payments.states import worldpay_refund_event
from dashboard.providers import clients
from dashboard.providers.antom.consts import HEADER_CLIENT_ID
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import PROVIDER as ANTOM
from dashboard.providers.antom.consts import NotifyType
from dashboard.providers.antom.mapping import AuthorizationNotification
from dashboard.providers.antom.mapping import MappingError
from dashboard.providers.antom.mapping import PaymentNotification
from dashboard.providers.antom.mapping import RefundNotification
from dashboard.providers.antom.mapping import identify_notification
from dashboard.providers.antom.mapping import parse_notification
from dashboard.providers.base import NotificationIdentity
from dashboard.providers.base import Outcome
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY
from dashboard.providers.worldpay.consts import SIGNATURE_HEADER
from dashboard.providers.worldpay.mapping import MalformedPayload
from dashboard.providers.worldpay.mapping import identify_event
from dashboard.providers.worldpay.mapping import parse_event
from dashboard.providers.worldpay.settings import resolve as worldpay_settings
from dashboard.providers.worldpay.signatures import verify_event

log = logging.getLogger(__name__)

#: Headers kept with each notification (signature inputs and what helps staff trace it).
KEPT_HEADERS = {
    ANTOM: ("Content-Type", HEADER_CLIENT_ID, HEADER_REQUEST_TIME, HEADER_SIGNATURE, "User-Agent"),
    WORLDPAY: ("Content-Type", SIGNATURE_HEADER, "WP-CorrelationId", "User-Agent"),
}
#: Unprocessed notifications older than this are queued again by the sweeper (DESIGN §8).
SWEEP_AFTER = timedelta(seconds=30)
#: A notification whose apply job crashed this many times waits for staff (Reprocess).
MAX_ATTEMPTS = 10
SWEEP_BATCH = 500


class ReprocessRefused(ValueError):
    """Reprocess is not possible for this notification (unverified, a duplicate, missing)."""


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


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    return lowered.get(name.lower())


def verify_antom(headers: Mapping[str, str], body: bytes) -> Verdict:
    """Check Antom's RSA-SHA256 signature over ``POST <notify path>\\n<client-id>.<Request-Time>.<body>``."""
    if not _header(headers, HEADER_SIGNATURE):
        return Verdict.MISSING
    # The path signed is the one Antom POSTed to: the public notify URL's (PUBLIC_BASE_URL +
    # ANTOM_NOTIFY_PATH), which differs from request.path behind a proxy that strips a prefix.
    return Verdict.VALID if clients.antom().verify_notification(headers, body) else Verdict.INVALID


def verify_worldpay(headers: Mapping[str, str], body: bytes) -> Verdict:
    """Check Worldpay's ``Event-Signature`` HMACs (any configured keyId; several during a rotation)."""
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        return Verdict.MISSING
    secrets = _worldpay_secrets()
    return Verdict.VALID if verify_event(body, header, secrets) else Verdict.INVALID


def _worldpay_secrets() -> Mapping[str, str]:
    extensions = current_app.extensions
    if "worldpay_webhook_secrets" not in extensions:
        extensions["worldpay_webhook_secrets"] = dict(worldpay_settings(current_app.config).webhook_secrets)
    return extensions["worldpay_webhook_secrets"]


_IDENTIFY = {ANTOM: identify_notification, WORLDPAY: identify_event}
_VERIFY = {ANTOM: verify_antom, WORLDPAY: verify_worldpay}


class _Redelivery(Exception):
    """The dedup key belongs to a verified original: leave the failed insert's transaction."""


def receive(provider: str, headers: Mapping[str, str], body: bytes) -> Intake:
    """Verify, store and (if verified and new) queue one notification; return what happened."""
    # One plain copy: Werkzeug's request headers walk the whole WSGI environ on every lookup.
    headers = {name.lower(): value for name, value in headers.items()}
    verdict = _VERIFY[provider](headers, body)
    identity = _IDENTIFY[provider](body)
    key = dedup_key(identity)
    kept = {name: value for name in KEPT_HEADERS[provider] if (value := _header(headers, name)) is not None}
    fields = {
        "provider": provider,
        "kind": identity.kind[:64],
        "reference": clip(identity.reference, 128),
        "headers": kept,
        "body": body,
    }
    if verdict is not Verdict.VALID:
        with write_transaction(db.session) as session:
            row = Notification(
                **fields, verdict=verdict.value, outcome=Result.REJECTED.value, processed_at=clock.now()
            )
            session.add(row)
            session.flush()
            return Intake(row.id, verdict)
    from dashboard.notifications.tasks import apply_notification_task

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
            enqueue_after_commit(session, apply_notification_task, row.id)
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
        outcome=Result.DUPLICATE.value,
        processed_at=clock.now(),
        object_type=original.object_type,
        object_id=original.object_id,
    )
    session.add(row)
    session.flush()
    return row


# --- applying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What applying did and which object it concerned."""

    outcome: Result
    object_type: str | None = None
    object_id: int | None = None


def apply(notification_id: int) -> str | None:
    """Apply a stored, verified notification once; return its outcome (None if it is not applicable).

    A contradiction (:class:`InvalidTransition`) or an unreadable body is recorded as ``failed``
    with the error, for staff to look at and reprocess; any other exception rolls everything back
    and propagates, so the job is retried and the sweeper tries again later.
    """
    with write_transaction(db.session) as session:
        row = locked(session, Notification, notification_id)
        if row is None or row.verdict != Verdict.VALID or row.duplicate_of_id is not None:
            return None
        if row.processed_at is not None or row.outcome == Result.FAILED:
            return row.outcome
        row.attempts += 1
        try:
            with session.begin_nested():
                applied = _DISPATCH[row.provider](session, row)
        except (InvalidTransition, MappingError, MalformedPayload) as exc:
            row.outcome = Result.FAILED.value
            row.processing_error = f"{type(exc).__name__}: {exc}"[:2000]
            return row.outcome
        row.outcome = applied.outcome.value
        row.processed_at = clock.now()
        row.processing_error = None
        if applied.object_type is not None:
            row.object_type, row.object_id = applied.object_type, str(applied.object_id)
        return row.outcome


def _noted(session: Session, row: Notification, object_type: str, object_id: int, outcome: Result) -> Applied:
    """Record the notification on the object's timeline and return the outcome."""
    record_event(
        session,
        object_type,
        object_id,
        "notification",
        {"notification_id": row.id, "kind": row.kind, "outcome": outcome.value},
        notification_id=row.id,
    )
    return Applied(outcome, object_type, object_id)


def _moved(session: Session, row: Notification, object_type: str, object_id: int, change) -> Applied:
    """Run a status change caused by ``row``; a late one or a confirmation is recorded and changes nothing."""
    try:
        change()
    except IgnoredEvent as ignored:
        # A confirmation (Antom's notifyPayment after pay answered S; Worldpay's
        # sentForSettlement after authorized) is applied news; only an out-of-order one is late.
        outcome = Result.APPLIED if ignored.confirms else Result.LATE
        return _noted(session, row, object_type, object_id, outcome)
    return _noted(session, row, object_type, object_id, Result.APPLIED)


def _apply_antom(session: Session, row: Notification) -> Applied:
    notice = parse_notification(row.body)
    if isinstance(notice, PaymentNotification):
        return _antom_payment(session, row, notice)
    if isinstance(notice, RefundNotification):
        return _antom_refund(session, row, notice)
    return _antom_authorization(session, row, notice)


def _antom_payment(session: Session, row: Notification, notice: PaymentNotification) -> Applied:
    payment = _find_antom_payment(session, notice.payment_id, notice.payment_request_id)
    if payment is None:
        if notice.amount is None or not (notice.payment_id or notice.payment_request_id):
            raise MappingError("a payment we do not know, without the amount and ids to record it")
        # We start every payment, but Antom's word is the truth: record what it says happened.
        payment = payments.payment_from_provider(
            session,
            provider=ANTOM,
            request_id=notice.payment_request_id or f"antom-{notice.payment_id}",
            provider_payment_id=notice.payment_id,
            amount=notice.amount,
            created_at=notice.payment_create_time,
            notification_id=row.id,
        )
    elif notice.payment_id and not payment.provider_payment_id:
        payment.provider_payment_id = notice.payment_id
    event = antom_payment_result_event(notice.notify_type, notice.outcome.value)
    return _moved(
        session,
        row,
        payments.PAYMENT,
        payment.id,
        lambda: payments.change_payment(
            session,
            payment,
            event,
            result_code=notice.result_code,
            result_message=notice.result_message,
            paid_at=notice.payment_time,
            notification_id=row.id,
        ),
    )


def _find_antom_payment(session: Session, payment_id: str | None, request_id: str | None) -> Payment | None:
    """Return the payment, locked: an inquiry or a pay answer committing meanwhile waits for us."""
    if request_id:
        found = session.scalars(
            select(Payment)
            .where(Payment.request_id == request_id, Payment.provider == ANTOM)
            .with_for_update()
        ).one_or_none()
        if found is not None:
            return found
    if payment_id:
        return session.scalars(
            select(Payment)
            .where(Payment.provider_payment_id == payment_id, Payment.provider == ANTOM)
            .limit(1)
            .with_for_update()
        ).one_or_none()
    return None


def _antom_refund(session: Session, row: Notification, notice: RefundNotification) -> Applied:
    # Locked like the payment: an inquiry committing meanwhile waits instead of going stale under us.
    refund = None
    if notice.refund_request_id:
        refund = session.scalars(
            select(Refund).where(Refund.request_id == notice.refund_request_id).with_for_update()
        ).one_or_none()
    if refund is None and notice.refund_id:
        refund = session.scalars(
            select(Refund).where(Refund.provider_refund_id == notice.refund_id).limit(1).with_for_update()
        ).first()
    if refund is None:
        payment = _find_antom_payment(session, notice.payment_id, None)
        if payment is None or notice.amount is None or not notice.refund_request_id:
            return Applied(Result.UNMATCHED)
        refund = payments.refund_from_provider(
            session, payment, notice.refund_request_id, notice.amount, row.id
        )
    if notice.refund_status is not None:
        event = ANTOM_REFUND_STATUS[notice.refund_status]
    else:
        event = {Outcome.SUCCEEDED: RefundEvent.SUCCEEDED, Outcome.FAILED: RefundEvent.FAILED}.get(
            notice.outcome, RefundEvent.PROCESSING
        )
    return _moved(
        session,
        row,
        payments.PAYMENT,
        refund.payment_id,
        lambda: payments.change_refund(
            session,
            refund,
            event,
            result_code=notice.result_code,
            result_message=notice.result_message,
            provider_refund_id=notice.refund_id,
            refunded_at=notice.refund_time,
            notification_id=row.id,
        ),
    )


def _antom_authorization(session: Session, row: Notification, notice: AuthorizationNotification) -> Applied:
    if notice.notify_type is NotifyType.AUTHCODE_CREATED:
        agreement = None
        if notice.auth_state:
            agreement = session.scalars(
                select(Agreement).where(Agreement.auth_state == notice.auth_state).with_for_update()
            ).one_or_none()
        if agreement is None or not notice.auth_code:
            return Applied(Result.UNMATCHED)
        return _moved(
            session,
            row,
            agreements.AGREEMENT,
            agreement.id,
            lambda: agreements.receive_auth_code(session, agreement, notice.auth_code, row.id),
        )
    agreement = None
    if notice.access_token:
        agreement = session.scalars(
            select(Agreement)
            .where(Agreement.access_token_hash.in_(lookup_hashes(notice.access_token)))
            .with_for_update()
        ).one_or_none()
    if agreement is None:
        return Applied(Result.UNMATCHED)
    if notice.notify_type is NotifyType.TOKEN_CANCELED:
        return _moved(
            session,
            row,
            agreements.AGREEMENT,
            agreement.id,
            lambda: agreements.token_canceled(session, agreement, notice.reason, row.id),
        )
    # TOKEN_CREATED repeats what applyToken told us: recorded on the timeline.
    return _noted(session, row, agreements.AGREEMENT, agreement.id, Result.APPLIED)


def _apply_worldpay(session: Session, row: Notification) -> Applied:
    event = parse_event(row.body)
    payment = session.scalars(
        select(Payment)
        .where(Payment.request_id == event.transaction_reference, Payment.provider == WORLDPAY)
        .with_for_update()
    ).one_or_none()
    if payment is None:
        # Without a payment we started, nothing can be done with it (DESIGN §8 "Who starts what").
        return Applied(Result.UNMATCHED)
    refund_event = worldpay_refund_event(event.event_type)
    if refund_event is not None and event.reference:
        refund = session.scalars(
            select(Refund).where(Refund.request_id == event.reference, Refund.payment_id == payment.id)
        ).one_or_none()
        if refund is None:
            amount = event.amount or payment.amount
            refund = payments.refund_from_provider(session, payment, event.reference, amount, row.id)
        code = event.refusal_code or event.event_type
        return _moved(
            session,
            row,
            payments.PAYMENT,
            payment.id,
            lambda: payments.change_refund(
                session,
                refund,
                refund_event,
                result_code=code,
                result_message=event.refusal_description,
                refunded_at=event.timestamp,
                notification_id=row.id,
            ),
        )
    payment_event = worldpay_payment_event(event.event_type)
    paid_at = event.timestamp if payment_event is PaymentEvent.SUCCEEDED else None
    return _moved(
        session,
        row,
        payments.PAYMENT,
        payment.id,
        lambda: payments.change_payment(
            session,
            payment,
            payment_event,
            result_code=event.refusal_code or event.event_type,
            result_message=event.refusal_description,
            paid_at=paid_at,
            notification_id=row.id,
        ),
    )


_DISPATCH = {ANTOM: _apply_antom, WORLDPAY: _apply_worldpay}


# --- staff actions ---------------------------------------------------------------------------------


def reprocess_refusal(row: Notification) -> str | None:
    """Return why ``row`` cannot be reprocessed, or None when it can."""
    if row.verdict != Verdict.VALID:
        return "a notification whose signature did not verify is never applied"
    if row.duplicate_of_id is not None:
        return f"a duplicate of notification {row.duplicate_of_id}; reprocess that one"
    if row.outcome not in (Result.FAILED, Result.UNMATCHED, Result.PENDING):
        # Applying it again would only add a confirmation and hide that it was applied.
        return f"it was {row.outcome} already; only failed, unmatched or pending ones are"
    return None


def reprocess(notification_id: int) -> None:
    """Queue a failed, unmatched or stuck notification to be applied again (audited).

    :raises ReprocessRefused: missing, unverified, a duplicate (those are never applied), or
        applied or late already
    """
    from dashboard.notifications.tasks import apply_notification_task

    with write_transaction(db.session) as session:
        row = locked(session, Notification, notification_id)
        if row is None:
            raise ReprocessRefused("no such notification")
        refusal = reprocess_refusal(row)
        if refusal is not None:
            raise ReprocessRefused(refusal)
        before = {"outcome": row.outcome, "processing_error": row.processing_error}
        row.outcome = Result.PENDING.value
        row.processed_at = None
        row.processing_error = None
        audit.record(
            session,
            "notification.reprocessed",
            object_type="notification",
            object_id=row.id,
            before=before,
            after={"outcome": row.outcome},
        )
        enqueue_after_commit(session, apply_notification_task, row.id)


def ask_provider(notification_id: int) -> str:
    """Run the inquiry for what the notification is about now; return a sentence saying what came back.

    The object is the one processing linked, or — for a pending, failed or unmatched row — the
    one its reference names (paymentId, paymentRequestId, refundId, transactionReference, authState).
    """
    row = db.session.get(Notification, notification_id)
    if row is None:
        raise ReprocessRefused("no such notification")
    subject = _subject(row)
    kind = row.kind
    db.session.rollback()
    if subject is None:
        return "This notification names nothing the provider can be asked about."
    object_type, object_id = subject
    if object_type == "refund":
        return f"Refund {object_id}: {payments.inquire_refund(object_id)}."
    if object_type == payments.PAYMENT:
        return f"Payment {object_id}: {payments.inquire_payment(object_id)}."
    status = agreements.activate(object_id) if kind == NotifyType.AUTHCODE_CREATED else None
    agreement = db.session.get(Agreement, object_id)
    return f"Agreement {object_id}: {status or (agreement.status if agreement else 'missing')}."


def _subject(row: Notification) -> tuple[str, int] | None:
    """Return what a notification is about: ("payment" | "refund" | "agreement", id), or None."""
    if row.object_type == payments.PAYMENT and row.object_id:
        refund_id = _refund_of(row.id, int(row.object_id))
        return ("refund", refund_id) if refund_id is not None else (payments.PAYMENT, int(row.object_id))
    if row.object_type == agreements.AGREEMENT and row.object_id:
        return agreements.AGREEMENT, int(row.object_id)
    reference = row.reference
    if not reference:
        return None
    if row.provider == WORLDPAY:
        found = db.session.scalar(
            select(Payment.id).where(Payment.request_id == reference, Payment.provider == WORLDPAY)
        )
        return (payments.PAYMENT, found) if found else None
    if row.kind == NotifyType.REFUND_RESULT:
        found = db.session.scalar(
            select(Refund.id).where(
                (Refund.provider_refund_id == reference) | (Refund.request_id == reference)
            )
        )
        return ("refund", found) if found else None
    if row.kind in (NotifyType.PAYMENT_RESULT, NotifyType.PAYMENT_PENDING):
        found = _find_antom_payment(db.session, reference, reference)
        return (payments.PAYMENT, found.id) if found else None
    found = db.session.scalar(select(Agreement.id).where(Agreement.auth_state == reference))
    return (agreements.AGREEMENT, found) if found else None


def ask_provider_audited(notification_id: int) -> str:
    """Ask the provider as :func:`ask_provider` does, then record who asked and the answer in the audit log.

    :raises ReprocessRefused: no such notification
    """
    answer = ask_provider(notification_id)
    with write_transaction(db.session) as session:
        audit.record(
            session,
            "notification.provider_asked",
            object_type="notification",
            object_id=notification_id,
            after={"answer": answer},
        )
    return answer


def _refund_of(notification_id: int, payment_id: int) -> int | None:
    """Return the refund a notification changed, read from the timeline it wrote."""
    from dashboard.events.models import Event

    summary = db.session.scalars(
        select(Event.summary).where(
            Event.notification_id == notification_id, Event.kind == "refund_status_changed"
        )
    ).first()
    refund_id = (summary or {}).get("refund_id")
    if refund_id is None:
        return None
    refund = db.session.get(Refund, refund_id)
    return refund.id if refund is not None and refund.payment_id == payment_id else None


def sweep_unprocessed(now) -> list[int]:
    """Return verified primary notifications still pending 30 s after receipt (a lost or crashed job)."""
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.processed_at.is_(None),
                Notification.received_at < now - SWEEP_AFTER,
                Notification.outcome == Result.PENDING.value,
                Notification.verdict == Verdict.VALID.value,
                Notification.duplicate_of_id.is_(None),
                Notification.attempts < MAX_ATTEMPTS,
            )
            .order_by(Notification.received_at)
            .limit(SWEEP_BATCH)
        )
    )


__all__ = [
    "Intake",
    "ReprocessRefused",
    "apply",
    "ask_provider",
    "ask_provider_audited",
    "receive",
    "reprocess",
]
