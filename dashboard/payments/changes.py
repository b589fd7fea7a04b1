"""Changes to payments, refunds and cancels in the caller's transaction (DESIGN §4, §5, §6).

The primitives every flow, notification and job uses: find the row news is about, add a
payment, refund or cancel, move one through its machine (:func:`dashboard.transitions.move`)
with the daily rollups and the refunded sum in step, and queue the inquiries that follow. Every
change is written on the payment's timeline (a payment page shows one timeline).
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.audit import service as audit
from dashboard.db import checked_on_rows
from dashboard.db import locked
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.machine import InvalidTransition
from dashboard.money import Money
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import CANCEL_MACHINE
from dashboard.payments.states import OPEN_CANCEL
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import PAYMENT_MACHINE
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import REFUND_IN_FLIGHT
from dashboard.payments.states import REFUND_MACHINE
from dashboard.payments.states import CancelEvent
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import RefundStatus
from dashboard.payments.states import check_refund
from dashboard.provider_step import settle
from dashboard.providers.news import CancelNews
from dashboard.providers.news import DisputeNews
from dashboard.providers.news import PaymentNews
from dashboard.providers.news import RefundNews
from dashboard.reports.models import gathered_rollup_moves
from dashboard.reports.models import move_in_rollup
from dashboard.reports.refund_rollups import count_approval_wait
from dashboard.reports.refund_rollups import move_refund_in_rollup
from dashboard.reports.refund_rollups import standing
from dashboard.statuses import status_label
from dashboard.transitions import move

#: Seconds between inquiries about an unknown payment or refund; then the sweeper takes over.
INQUIRY_BACKOFF = (5, 10, 20, 40, 80, 160, 300, 600)
#: Auto Debit payments expire one minute after pay (antom.md §5.2 ``paymentExpiryTime``).
AUTO_DEBIT_EXPIRY = timedelta(minutes=1)

# Jobs, by the names payments/tasks.py declares them under (their names since they were first queued).
INQUIRE_PAYMENT = "dashboard.payments.tasks.inquire_payment_task"
INQUIRE_REFUND = "dashboard.payments.tasks.inquire_refund_task"
SEND_REFUND = "dashboard.payments.tasks.send_refund_task"
SEND_CANCEL = "dashboard.payments.tasks.send_cancel_task"
REFRESH_PAYMENT = "dashboard.payments.tasks.refresh_payment_task"


class PaymentRefused(ValueError):
    """A request fails a rule before anything is stored or sent."""


class CancelRefused(PaymentRefused):
    """The payment cannot be cancelled (provider, status, refunds, window)."""


class DuplicateCancel(CancelRefused):
    """The cancel request id was used already (a double click or a retried form)."""


#: A payment by our id, and by the provider's (the provider checked on what the id finds): built once,
#: as every notification about a payment asks, each with its lock and without.
_PAYMENT_BY_REQUEST_ID = select(Payment).where(
    Payment.request_id == bindparam("key"), Payment.provider == bindparam("provider")
)
_PAYMENT_BY_PROVIDER_ID = (
    select(Payment)
    .where(
        Payment.provider_payment_id == bindparam("key"),
        checked_on_rows(Payment.provider == bindparam("provider")),
    )
    .limit(1)
)
_FIND_PAYMENT = {
    lock: tuple(
        statement.with_for_update() if lock else statement
        for statement in (_PAYMENT_BY_REQUEST_ID, _PAYMENT_BY_PROVIDER_ID)
    )
    for lock in (True, False)
}


def find_payment(
    session: Session,
    provider: str,
    request_id: str | None,
    provider_payment_id: str | None,
    *,
    lock: bool = True,
) -> Payment | None:
    """Return the payment named by our id or else the provider's, locked unless ``lock`` is False.

    Locked, an inquiry or a pay answer committing meanwhile waits instead of going stale under us.
    """
    for statement, key in zip(_FIND_PAYMENT[lock], (request_id, provider_payment_id), strict=True):
        if key:
            found = session.scalars(statement, {"key": key, "provider": provider}).one_or_none()
            if found is not None:
                return found
    return None


def find_refund(
    session: Session, request_id: str | None, provider_refund_id: str | None, *, lock: bool = True
) -> Refund | None:
    """Return the refund named by our refund id or else the provider's, locked unless ``lock`` is False."""
    statements = []
    if request_id:
        statements.append(select(Refund).where(Refund.request_id == request_id))
    if provider_refund_id:
        statements.append(select(Refund).where(Refund.provider_refund_id == provider_refund_id).limit(1))
    for statement in statements:
        found = session.scalars(statement.with_for_update() if lock else statement).first()
        if found is not None:
            return found
    return None


def find_refund_in_flight(session: Session, payment: Payment, amount: Money) -> tuple[Refund | None, int]:
    """Return the oldest refund of ``payment`` for ``amount`` still in flight (locked), and how many
    such refunds there are: for news that names the payment and the amount but no refund.

    Several in flight for the same amount cannot be told apart: the oldest is taken, as the provider
    queues a payment's reversals and their news in order. Whichever it is, the money refunded is the
    same; the count is kept with the news so staff can see the match was a choice.
    """
    if amount.currency != payment.currency:
        return None, 0
    candidates = session.scalars(
        select(Refund)
        .where(
            Refund.payment_id == payment.id,
            Refund.amount_minor == amount.minor,
            Refund.status.in_(REFUND_IN_FLIGHT),
        )
        .order_by(Refund.id)
        .with_for_update()
    ).all()
    return (candidates[0] if candidates else None), len(candidates)


def change_payment(
    session: Session,
    payment: Payment,
    event: PaymentEvent | str,
    *,
    result_code: str | None = None,
    result_message: str | None = None,
    paid_at: datetime | None = None,
    notification_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    """Move ``payment`` by ``event``, keep the rollups in step, and record it; return whether it moved.

    :raises IgnoredEvent: duplicate or late; nothing changed
    :raises InvalidTransition: the event contradicts the status; nothing changed
    """

    old_status, old_code = payment.status, payment.result_code

    def facts(new: PaymentStatus) -> None:
        if new is PaymentStatus.SUCCEEDED and payment.paid_at is None:
            payment.paid_at = paid_at or clock.now()
        if PaymentStatus(old_status) in OPEN_PAYMENT and new not in OPEN_PAYMENT:
            payment.finished_at = clock.now()

    moved = move(
        session,
        payment,
        PAYMENT_MACHINE,
        event,
        result=(result_code, result_message),
        facts=facts,
        summary={"result_code": result_code, "result_message": result_message},
        notification_id=notification_id,
        actor_id=actor_id,
    )
    # After the move: a failed payment is counted under the result code it now holds, which the
    # move may have changed even when the status stayed (a note with a code).
    move_in_rollup(
        session, payment, old_status, payment.status, old_code=old_code, new_code=payment.result_code
    )
    return moved


def keep_result(session: Session, payment: Payment, code: str | None, message: str | None) -> None:
    """Keep ``code`` and ``message`` as ``payment``'s latest result, its failure rollup in step."""
    old_code = payment.result_code
    payment.result_code, payment.result_message = code, message
    move_in_rollup(
        session, payment, payment.status, payment.status, old_code=old_code, new_code=payment.result_code
    )


def change_refund(
    session: Session,
    refund: Refund,
    event: RefundEvent | str,
    *,
    result_code: str | None = None,
    result_message: str | None = None,
    provider_refund_id: str | None = None,
    refunded_at: datetime | None = None,
    notification_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    """Move ``refund`` by ``event``; a success adds to the payment's refunded amount. Errors as above.

    The refund rollups follow it; a decision on a refund that waited for approval counts its wait.
    """
    before = standing(refund)

    def facts(new: RefundStatus) -> None:
        if provider_refund_id and not refund.provider_refund_id:
            refund.provider_refund_id = provider_refund_id

    def on_move(old: RefundStatus, new: RefundStatus) -> None:
        if new is not RefundStatus.SUCCEEDED:
            return
        payment = locked(session, Payment, refund.payment_id)
        # The database checks refunded ≤ amount too; this says which refund broke it.
        if payment.refunded_minor + refund.amount_minor > payment.amount_minor:
            raise InvalidTransition(
                REFUND_MACHINE.name, old, RefundEvent(event), "would refund more than was paid"
            )
        payment.refunded_minor += refund.amount_minor
        refund.refunded_at = refunded_at or clock.now()

    moved = move(
        session,
        refund,
        REFUND_MACHINE,
        event,
        result=(result_code, result_message),
        facts=facts,
        on_move=on_move,
        summary={
            "amount_minor": refund.amount_minor,
            "currency": refund.currency,
            "result_code": result_code,
        },
        notification_id=notification_id,
        actor_id=actor_id,
    )
    if moved:
        provider = refund.payment.provider
        # After the move: a failure's code is kept with its status, and its bucket is by code. Both
        # rollups are written together, in table order (the order the rollups rebuild locks them in).
        with gathered_rollup_moves(session):
            move_refund_in_rollup(session, refund, provider, before)
            if before.status == RefundStatus.AWAITING_APPROVAL and refund.decided_at is not None:
                count_approval_wait(session, refund, provider)
    return moved


def change_cancel(
    session: Session,
    cancel: Cancel,
    event: CancelEvent | str,
    *,
    result_code: str | None = None,
    result_message: str | None = None,
    cancelled_at: datetime | None = None,
) -> bool:
    """Move ``cancel`` by ``event``; a success cancels its payment too. Errors as above."""
    moved = move(
        session,
        cancel,
        CANCEL_MACHINE,
        event,
        result=(result_code, result_message),
        summary={"result_code": result_code},
    )
    if moved and cancel.status == CancelStatus.SUCCEEDED:
        cancel.cancelled_at = cancelled_at or clock.now()
        payment = locked(session, Payment, cancel.payment_id)
        settle(lambda: change_payment(session, payment, PaymentEvent.CANCELLED, result_code=result_code))
    return moved


def apply_payment_news(
    session: Session, payment: Payment, news: PaymentNews, *, notification_id: int | None = None
) -> bool:
    """Keep what a provider told about ``payment`` and move it by the news' event. Errors as above."""
    if news.provider_payment_id and not payment.provider_payment_id:
        payment.provider_payment_id = news.provider_payment_id
    if news.redirect_url:
        payment.redirect_url = news.redirect_url
    if news.next_actions is not None:
        payment.actions = dict(news.next_actions)
    return change_payment(
        session,
        payment,
        news.event,
        result_code=news.code,
        result_message=news.message,
        paid_at=news.paid_at,
        notification_id=notification_id,
    )


def apply_dispute_news(
    session: Session, payment: Payment, news: DisputeNews, *, notification_id: int | None = None
) -> bool:
    """Write a dispute's step on ``payment``'s timeline and move it by the news' event. Errors as above.

    The step is on the timeline even when the status stays (a defence due, a late step).
    """
    facts = {
        "dispute_id": news.dispute_id,
        "stage": news.stage,
        "amount_minor": news.amount.minor if news.amount else None,
        "currency": news.amount.currency if news.amount else None,
        "reason": news.message,
        "defend_by": news.defend_by.astimezone(UTC).isoformat() if news.defend_by else None,
    }
    summary = {key: value for key, value in facts.items() if value is not None}
    record_event(
        session, ObjectType.PAYMENT, payment.id, EventKind.DISPUTE, summary, notification_id=notification_id
    )
    return change_payment(
        session,
        payment,
        news.event,
        result_code=news.code,
        result_message=news.message,
        notification_id=notification_id,
    )


def apply_refund_news(
    session: Session, refund: Refund, news: RefundNews, *, notification_id: int | None = None
) -> bool:
    """Move ``refund`` by what a provider told about it; audit a refusal. Errors as above."""
    moved = change_refund(
        session,
        refund,
        news.event,
        result_code=news.code,
        result_message=news.message,
        provider_refund_id=news.provider_refund_id,
        refunded_at=news.refunded_at,
        notification_id=notification_id,
    )
    if moved and refund.status == RefundStatus.FAILED:
        _audit_refusal(session, "payment.refund_failed", refund.payment_id, refund.timeline.extra, news)
    return moved


def apply_cancel_news(session: Session, cancel: Cancel, news: CancelNews) -> bool:
    """Move ``cancel`` by what the provider answered; audit a refusal. Errors as above."""
    moved = change_cancel(
        session,
        cancel,
        news.event,
        result_code=news.code,
        result_message=news.message,
        cancelled_at=news.cancelled_at,
    )
    if moved and cancel.status == CancelStatus.FAILED:
        _audit_refusal(session, "payment.cancel_failed", cancel.payment_id, cancel.timeline.extra, news)
    return moved


def _audit_refusal(
    session: Session, action: str, payment_id: int, names: dict, news: RefundNews | CancelNews
) -> None:
    """Audit that the provider refused what staff (or the back office) asked for."""
    after = {**names, "result_code": news.code, "result_message": news.message}
    audit.record(session, action, object_type=ObjectType.PAYMENT, object_id=payment_id, after=after)


def new_payment(
    session: Session, actor_id: int | None, notification_id: int | None = None, **fields
) -> Payment:
    """Add a pending payment, count it in the rollups and record its creation."""
    payment = Payment(status=PaymentStatus.PENDING.value, refunded_minor=0, **fields)
    session.add(payment)
    session.flush()
    record_event(
        session,
        ObjectType.PAYMENT,
        payment.id,
        EventKind.CREATED,
        {"status": payment.status, "amount_minor": payment.amount_minor, "currency": payment.currency},
        actor_id=actor_id,
        notification_id=notification_id,
    )
    # After the event: every writer takes the timeline's append lock before rollup rows (as a
    # status change does), or two on PostgreSQL could each wait for the other's.
    move_in_rollup(session, payment, None, payment.status)
    return payment


def payment_from_provider(
    session: Session, provider: str, news: PaymentNews, notification_id: int
) -> Payment:
    """Record a payment we learnt of from a provider's notification (one we had not seen)."""
    return new_payment(
        session,
        None,
        notification_id,
        provider=provider,
        request_id=news.request_id or f"{provider}-{news.provider_payment_id}",
        provider_payment_id=news.provider_payment_id,
        amount_minor=news.amount.minor,
        currency=news.amount.currency,
        created_at=news.created_at or clock.now(),
    )


def refund_from_provider(
    session: Session, payment: Payment, request_id: str, amount: Money, notification_id: int
) -> Refund:
    """Record a refund we learnt of from a provider notification (made outside the back office);
    count it in the rollups.

    :raises NotRefundable: the news does not fit the payment (another currency, more than it holds);
        nothing is recorded
    """
    if amount.currency != payment.currency or not 0 < amount.minor <= payment.amount_minor:
        raise NotRefundable(
            f"a refund of {amount} does not fit payment {payment.request_id} of "
            f"{Money(payment.amount_minor, payment.currency)}"
        )
    refund = Refund(
        payment_id=payment.id,
        request_id=request_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        status=RefundStatus.SUBMITTED.value,
    )
    session.add(refund)
    session.flush()
    record_event(
        session,
        ObjectType.PAYMENT,
        payment.id,
        EventKind.REFUND_REQUESTED,
        {
            **refund.timeline.extra,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "source": "provider",
        },
        notification_id=notification_id,
    )
    move_refund_in_rollup(session, refund, payment.provider, None)  # after the event, as above
    return refund


def check_new_refund(session: Session, payment: Payment, amount: Money, request_id: str) -> None:
    """Check a new refund of ``payment`` (locked by the caller) against the refund rules.

    :raises DuplicateRefund: ``request_id`` was used (a double click)
    :raises RefundRefused: another currency, a payment that holds no money, or more than the balance
    """
    if amount.currency != payment.currency:
        raise NotRefundable(
            _l(
                "the payment is in %(currency)s, not %(other)s",
                currency=payment.currency,
                other=amount.currency,
            )
        )
    refunds = session.execute(
        select(Refund.status, Refund.amount_minor).where(Refund.payment_id == payment.id)
    )
    used = session.scalars(select(Refund.request_id).where(Refund.request_id == request_id))
    check_refund(payment.status, payment.amount_minor, list(refunds), amount.minor, request_id, used)


def open_refund(
    session: Session,
    payment: Payment,
    amount: Money,
    reason: str | None,
    request_id: str,
    actor_id: int | None,
    *,
    note: str | None = None,
    awaiting_approval: bool = False,
) -> Refund:
    """Add a refund of ``payment`` that passed :func:`check_new_refund`; count, record and audit it.

    :param awaiting_approval: it waits for a second person (``awaiting_approval``) instead of
        being ready to send (``submitted``)
    """
    status = RefundStatus.AWAITING_APPROVAL if awaiting_approval else RefundStatus.SUBMITTED
    refund = Refund(
        payment_id=payment.id,
        request_id=request_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        reason=reason,
        note=note,
        status=status.value,
        requested_by_id=actor_id,
    )
    session.add(refund)
    session.flush()
    summary = {**refund.timeline.extra, "amount_minor": amount.minor, "currency": amount.currency}
    if awaiting_approval:
        summary["awaiting_approval"] = True
    told = {**summary, "reason": refund.reason, **({"note": refund.note} if refund.note else {})}
    record_event(session, ObjectType.PAYMENT, payment.id, EventKind.REFUND_REQUESTED, told, actor_id=actor_id)
    move_refund_in_rollup(session, refund, payment.provider, None)  # after the event (see new_payment)
    audit.record(
        session,
        "payment.refund_requested",
        object_type=ObjectType.PAYMENT,
        object_id=payment.id,
        after=summary,
    )
    return refund


def cancel_rule_broken(session: Session, payment: Payment) -> str | None:
    """Return which of the cancel rules every provider's cancel shares ``payment`` breaks, or None.

    Only a payment that is open or paid, has no refund (antom.md §5.4: cancel is for the whole
    payment, before any refund) and no other cancel in flight can be cancelled.
    """
    if PaymentStatus(payment.status) not in PAYMENT_REFUNDABLE | OPEN_PAYMENT:
        return _l("a %(status)s payment cannot be cancelled", status=status_label(payment.status))
    if session.scalar(select(Refund.id).where(Refund.payment_id == payment.id).limit(1)) is not None:
        # antom.md §5.4: a cancel is for the whole payment, before any refund.
        return _l("a payment with refunds cannot be cancelled; refund the rest instead")
    in_flight = select(Cancel.id).where(Cancel.payment_id == payment.id, Cancel.status.in_(OPEN_CANCEL))
    if session.scalar(in_flight.limit(1)) is not None:
        return _l("a cancel of it is in flight already")
    return None


def check_cancel_request_id(session: Session, request_id: str) -> None:
    """Refuse a cancel request id that was used already (before any rule: a resubmission is no new cancel).

    :raises DuplicateCancel: it was
    """
    if session.scalar(select(Cancel.id).where(Cancel.request_id == request_id)) is not None:
        raise DuplicateCancel(f"cancel request {request_id} exists already")


def open_cancel(
    session: Session, payment: Payment, request_id: str, reason: str | None, actor_id: int | None
) -> Cancel:
    """Add a cancel of ``payment`` (locked by the caller) once it passes the cancel rules.

    :raises DuplicateCancel: ``request_id`` was used already
    :raises CancelRefused: a final payment, one with refunds or a cancel in flight
    """
    check_cancel_request_id(session, request_id)
    broken = cancel_rule_broken(session, payment)
    if broken is not None:
        raise CancelRefused(broken)
    cancel = Cancel(
        payment_id=payment.id,
        request_id=request_id,
        reason=reason,
        status=CancelStatus.SUBMITTED.value,
        requested_by_id=actor_id,
    )
    session.add(cancel)
    session.flush()
    record_event(
        session,
        ObjectType.PAYMENT,
        payment.id,
        EventKind.CANCEL_REQUESTED,
        {**cancel.timeline.extra, "reason": cancel.reason},
        actor_id=actor_id,
    )
    if actor_id is not None:
        audit.record(
            session,
            "payment.cancel_requested",
            object_type=ObjectType.PAYMENT,
            object_id=payment.id,
            after=cancel.timeline.extra,
        )
    return cancel


def schedule_inquiry(session: Session, payment: Payment, attempt: int = 0) -> None:
    """Ask the provider about ``payment`` again after the back-off's next step (none after the last)."""
    if attempt < len(INQUIRY_BACKOFF):
        enqueue_after_commit(session, INQUIRE_PAYMENT, payment.id, attempt, delay=INQUIRY_BACKOFF[attempt])


def schedule_refund_inquiry(session: Session, refund: Refund, attempt: int = 0) -> None:
    """Ask the provider about ``refund`` again after the back-off's next step (none after the last)."""
    if attempt < len(INQUIRY_BACKOFF):
        enqueue_after_commit(session, INQUIRE_REFUND, refund.id, attempt, delay=INQUIRY_BACKOFF[attempt])
