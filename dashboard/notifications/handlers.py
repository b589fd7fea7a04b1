"""Apply a stored, verified notification exactly once (DESIGN §5, §8 "Notifications inbox").

The provider's mapping reads the body into news (:mod:`dashboard.providers.news`); one handler
per kind of news finds what it is about, locked, and moves it. A duplicate or late event never
moves a status backwards; a confirmation of the current status counts as applied.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements import service as agreements
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import gathered_events
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict
from dashboard.payments import changes as payments
from dashboard.payments.models import Payment
from dashboard.payments.rails import rail_for
from dashboard.payments.states import RefundRefused
from dashboard.providers.base import MalformedMessage
from dashboard.providers.news import AuthorizationChange
from dashboard.providers.news import AuthorizationNews
from dashboard.providers.news import DisputeNews
from dashboard.providers.news import PaymentNews
from dashboard.providers.news import RefundNews
from dashboard.providers.registry import NOTIFYING
from dashboard.reports.models import gathered_rollup_moves
from dashboard.reports.notification_rollups import move_notification

#: How much of an error a notification's row keeps for staff.
MAX_ERROR_TEXT = 2000


def describe_error(exc: BaseException) -> str:
    """Return an error as the inbox shows it: its type and message, cut to :data:`MAX_ERROR_TEXT`."""
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]


@dataclass(frozen=True)
class Applied:
    """What applying did and which object it concerned."""

    outcome: InboxOutcome
    object_type: str | None = None
    object_id: int | None = None


UNMATCHED = Applied(InboxOutcome.UNMATCHED)


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
        if row.processed_at is not None or row.outcome == InboxOutcome.FAILED:
            return row.outcome
        return _apply_locked(session, row)


#: Stored verified originals never tried: what :func:`apply_next` claims, oldest first.
WAITING = (
    Notification.processed_at.is_(None),
    Notification.outcome == InboxOutcome.PENDING.value,
    Notification.verdict == Verdict.VALID.value,
    Notification.duplicate_of_id.is_(None),
    Notification.attempts == 0,
)


class ApplyCrashed(Exception):
    """Applying the claimed notification ``notification_id`` raised (the cause); nothing was kept."""

    def __init__(self, notification_id: int):
        super().__init__(f"applying notification {notification_id} raised")
        self.notification_id = notification_id


def _any_waiting() -> bool:
    """Say whether a notification waits; an idle poll only reads (the write lock is all of SQLite)."""
    found = db.session.scalar(select(Notification.id).where(*WAITING).limit(1))
    db.session.rollback()
    return found is not None


def _claim(session: Session, limit: int) -> list[Notification]:
    """Lock up to ``limit`` waiting notifications, oldest first, skipping those another applier holds."""
    return list(
        session.scalars(
            select(Notification)
            .where(*WAITING)
            # In the order of the index of unprocessed rows: no applied row is read to find one.
            .order_by(Notification.received_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def apply_next() -> int | None:
    """Claim the oldest verified notification nothing has tried yet, apply it; return its id (None: none).

    The claim is a row lock taken in the apply's own transaction (SKIP LOCKED on PostgreSQL, so
    appliers running side by side take different rows; SQLite has one writer at a time), so a
    notification is applied once however many appliers race, and a crash before the commit
    leaves it waiting for the next one.

    :raises ApplyCrashed: as :func:`apply` would propagate; the notification is left untried
    """
    if not _any_waiting():
        return None
    with write_transaction(db.session) as session:
        claimed = _claim(session, 1)
        if not claimed:
            return None
        [row] = claimed
        try:
            _apply_locked(session, row)
        except Exception as exc:
            raise ApplyCrashed(row.id) from exc
        return row.id


@dataclass(frozen=True)
class Batch:
    """What one batch did: how many it applied or failed, and the ids of those whose apply crashed."""

    done: int
    crashed: list[int]

    def __len__(self) -> int:
        return self.done + len(self.crashed)


class _TryWithSavepoints(Exception):
    """A notification of a batch tried without savepoints failed or crashed: the try was undone."""


def apply_batch(limit: int) -> Batch:
    """Claim up to ``limit`` notifications nothing has tried yet and apply them in one transaction.

    They are claimed and applied oldest first, as :func:`apply_next` would one by one, so each
    object sees its news in the same order. The rollup buckets the batch moved (payments' and
    notifications') are written once each, at its end. A crash of the batch itself (the commit,
    the connection) rolls it all back and leaves every one waiting.

    The batch is first applied without a savepoint per notification (two statements and a flush
    fewer each). If any of them fails or crashes, that whole try is rolled back and the batch is
    claimed again with a savepoint each: one that fails is recorded as failed, one that crashes is
    rolled back alone and recorded as crashed (one attempt, its error), and the others are kept.
    (On PostgreSQL, undoing a try lets another applier waiting on one of its payments go first.)
    """
    if not _any_waiting():
        return Batch(0, [])
    try:
        return _apply_claimed(limit, isolated=False)
    except _TryWithSavepoints:
        db.session.rollback()
    return _apply_claimed(limit, isolated=True)


def _apply_claimed(limit: int, isolated: bool) -> Batch:
    """Claim a batch and apply it in one transaction; ``isolated``: each in a savepoint of its own."""
    done = 0
    crashed: list[int] = []
    with (
        write_transaction(db.session) as session,
        gathered_rollup_moves(session),
        gathered_events(session),
    ):
        for row in _claim(session, limit):
            try:
                _apply_locked(session, row, isolated)
            except Exception as exc:
                if not isolated:
                    raise _TryWithSavepoints from exc
                # Its savepoint is undone; the attempt counted before it stays.
                row.processing_error = describe_error(exc)
                crashed.append(row.id)
            else:
                done += 1
    return Batch(done, crashed)


def _apply_locked(session: Session, row: Notification, isolated: bool = True) -> str:
    """Apply ``row`` (locked, verified, unprocessed) in ``session``'s transaction; return its outcome.

    ``isolated``, in a savepoint of its own, so that news which fails is undone alone and recorded
    as failed; otherwise a failure raises like a crash, for the caller to undo everything.
    """
    row.attempts += 1
    failures = (InvalidTransition, MalformedMessage, RefundRefused) if isolated else ()
    try:
        # The savepoint is released (and flushed) first: only a notification that applied hands its
        # rollup moves and events on; one whose flush fails drops them with its changes.
        with (
            gathered_rollup_moves(session),
            gathered_events(session),
            session.begin_nested() if isolated else nullcontext(),
        ):
            news = NOTIFYING[row.provider].webhook.read_notification(row.body)
            applied = HANDLERS[type(news)](session, row, news)
    except failures as exc:
        record_outcome(session, row, InboxOutcome.FAILED)
        row.processing_error = describe_error(exc)
        return row.outcome
    record_outcome(session, row, applied.outcome)
    row.processed_at = clock.now()
    row.processing_error = None
    if applied.object_type is not None:
        row.object_type, row.object_id = applied.object_type, str(applied.object_id)
    return row.outcome


def record_outcome(session: Session, row: Notification, outcome: InboxOutcome) -> None:
    """Set ``row``'s outcome and move it to that outcome's bucket of the notification health rollup."""
    move_notification(session, row, row.outcome, outcome.value)
    row.outcome = outcome.value


def _noted(
    session: Session, row: Notification, object_type: str, object_id: int, outcome: InboxOutcome
) -> Applied:
    """Record the notification on the object's timeline and return the outcome."""
    record_event(
        session,
        object_type,
        object_id,
        EventKind.NOTIFICATION,
        {"notification_id": row.id, "kind": row.kind, "outcome": outcome.value},
        notification_id=row.id,
    )
    return Applied(outcome, object_type, object_id)


def _moved(
    session: Session, row: Notification, object_type: str, object_id: int, change: Callable[[], bool]
) -> Applied:
    """Run a status change caused by ``row``; a late one or a confirmation is recorded and changes nothing."""
    try:
        change()
    except IgnoredEvent as ignored:
        # A confirmation (Antom's notifyPayment after pay answered S; Worldpay's
        # sentForSettlement after authorized) is applied news; only an out-of-order one is late.
        outcome = InboxOutcome.APPLIED if ignored.confirms else InboxOutcome.LATE
        return _noted(session, row, object_type, object_id, outcome)
    return _noted(session, row, object_type, object_id, InboxOutcome.APPLIED)


def _after(session: Session, payment: Payment, applied: Applied) -> Applied:
    """Let the payment's rail follow up news that was applied (e.g. ask what it offers now)."""
    follow_up = rail_for(payment.provider).after_news
    if follow_up is not None and applied.outcome is InboxOutcome.APPLIED:
        follow_up(session, payment)
    return applied


def _payment_news(session: Session, row: Notification, news: PaymentNews) -> Applied:
    payment = payments.find_payment(session, row.provider, news.request_id, news.provider_payment_id)
    if payment is None:
        # We start every payment, but the provider's word is the truth: record what it says
        # happened when it names the payment by its own id (DESIGN §8 "Who starts what").
        if not news.provider_payment_id or news.amount is None:
            return UNMATCHED
        payment = payments.payment_from_provider(session, row.provider, news, row.id)
    applied = _moved(
        session,
        row,
        ObjectType.PAYMENT,
        payment.id,
        lambda: payments.apply_payment_news(session, payment, news, notification_id=row.id),
    )
    return _after(session, payment, applied)


def _refund_news(session: Session, row: Notification, news: RefundNews) -> Applied:
    # Locked like the payment: an inquiry committing meanwhile waits instead of going stale under us.
    refund = payments.find_refund(session, news.request_id, news.provider_refund_id)
    if refund is None:
        payment = payments.find_payment(
            session, row.provider, news.payment_request_id, news.provider_payment_id
        )
        if payment is None or news.amount is None:
            return UNMATCHED
        if news.request_id:
            refund = payments.refund_from_provider(session, payment, news.request_id, news.amount, row.id)
        elif news.provider_refund_id is None:
            # News that names no refund (Worldpay's refunded): the oldest in flight for its amount.
            refund, candidates = payments.find_refund_in_flight(session, payment, news.amount)
            if refund is None:
                return UNMATCHED
            how = f"the oldest of {candidates} in flight" if candidates > 1 else "the only one in flight"
            news = replace(news, message=f"matched by payment and amount ({how})")
        else:
            return UNMATCHED
    applied = _moved(
        session,
        row,
        ObjectType.PAYMENT,
        refund.payment_id,
        lambda: payments.apply_refund_news(session, refund, news, notification_id=row.id),
    )
    return _after(session, refund.payment, applied)


def _dispute_news(session: Session, row: Notification, news: DisputeNews) -> Applied:
    # A dispute is about a payment we hold; one we never saw cannot be placed (its amount in
    # dispute need not be the payment's).
    payment = payments.find_payment(session, row.provider, news.request_id, news.provider_payment_id)
    if payment is None:
        return UNMATCHED
    return _moved(
        session,
        row,
        ObjectType.PAYMENT,
        payment.id,
        lambda: payments.apply_dispute_news(session, payment, news, notification_id=row.id),
    )


def _authorization_news(session: Session, row: Notification, news: AuthorizationNews) -> Applied:
    if news.change is AuthorizationChange.CODE_ISSUED:
        agreement = agreements.find_by_auth_state(session, news.auth_state) if news.auth_state else None
        if agreement is None or not news.auth_code:
            return UNMATCHED
        return _moved(
            session,
            row,
            ObjectType.AGREEMENT,
            agreement.id,
            lambda: agreements.receive_auth_code(session, agreement, news.auth_code, row.id),
        )
    agreement = agreements.find_by_access_token(session, news.access_token) if news.access_token else None
    if agreement is None:
        return UNMATCHED
    if news.change is AuthorizationChange.TOKEN_CANCELLED:
        return _moved(
            session,
            row,
            ObjectType.AGREEMENT,
            agreement.id,
            lambda: agreements.token_canceled(session, agreement, news.reason, row.id),
        )
    # A token issued repeats what applyToken told us: recorded on the timeline.
    return _noted(session, row, ObjectType.AGREEMENT, agreement.id, InboxOutcome.APPLIED)


#: Each kind of news and what applies it.
HANDLERS: dict[type, Callable[[Session, Notification, object], Applied]] = {
    PaymentNews: _payment_news,
    RefundNews: _refund_news,
    AuthorizationNews: _authorization_news,
    DisputeNews: _dispute_news,
}
