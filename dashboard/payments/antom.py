"""Antom Auto Debit payments: charge an agreement, resolve an unknown pay, cancel, refund (antom.md §5).

Every call is one :func:`dashboard.provider_step.provider_step`; the functions here only say
what to send and what the answer decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone
from functools import partial

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.changes import AUTO_DEBIT_EXPIRY
from dashboard.payments.changes import INQUIRY_BACKOFF
from dashboard.payments.changes import SEND_CANCEL
from dashboard.payments.changes import SEND_REFUND
from dashboard.payments.changes import CancelRefused
from dashboard.payments.changes import PaymentRefused
from dashboard.payments.changes import apply_cancel_news
from dashboard.payments.changes import apply_payment_news
from dashboard.payments.changes import apply_refund_news
from dashboard.payments.changes import change_payment
from dashboard.payments.changes import new_payment
from dashboard.payments.changes import open_cancel
from dashboard.payments.changes import schedule_inquiry
from dashboard.payments.changes import schedule_refund_inquiry
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rail import PaymentRail
from dashboard.payments.states import OPEN_CANCEL
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import OPEN_REFUND
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.antom.mapping import PayRequest
from dashboard.providers.antom.mapping import RefundRequest
from dashboard.providers.antom.provider import ANTOM
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import new_request_id
from dashboard.providers.guidance import About
from dashboard.providers.methods import method_label
from dashboard.providers.news import CancelNews
from dashboard.providers.news import PaymentNews
from dashboard.providers.registry import refusal_words
from dashboard.statuses import status_label


def new_charge_request_id() -> str:
    """Return a charge's request id; a form makes one when it is shown, so a resubmission reuses it."""
    return new_request_id("pay-")


class DuplicateCharge(PaymentRefused):
    """The charge's request id made a payment already (a double click, a retry, the back button)."""

    def __init__(self, request_id: str, payment_id: int):
        super().__init__(f"charge {request_id} was asked for already")
        self.payment_id = payment_id


def charge_agreement(
    agreement_id: int,
    amount: Money,
    order_description: str,
    *,
    request_id: str | None = None,
    merchant_reference: str | None = None,
    actor_id: int | None = None,
) -> Payment:
    """Debit an active agreement with Antom ``pay``; return the payment as it stands after the answer.

    :param request_id: the charge's ``pay`` request id, made once per form
        (:func:`new_charge_request_id`) so a resubmission is the same charge; a fresh one when None
    :param merchant_reference: the merchant's order reference sent with it (else our request id)
    :param actor_id: the staff member charging (audited); None for the demo and jobs
    :raises DuplicateCharge: ``request_id`` made a payment already: nothing is sent again
    :raises PaymentRefused: no such agreement, or one that cannot be charged (the message says why:
        not active, or staff asked to revoke it)
    """
    with write_transaction(db.session) as session:
        # Locked first, so two submits of one form take turns and the second finds the first's payment.
        agreement = locked(session, Agreement, agreement_id)
        if request_id is not None:
            earlier = session.scalar(
                select(Payment.id).where(Payment.request_id == request_id, Payment.provider == ANTOM.code)
            )
            if earlier is not None:
                raise DuplicateCharge(request_id, earlier)
        if agreement is None:
            raise PaymentRefused(_l("agreement %(id)s does not exist", id=agreement_id))
        if agreement.charge_refusal is not None:
            raise PaymentRefused(agreement.charge_refusal)
        payment = new_payment(
            session,
            actor_id,
            provider=ANTOM.code,
            request_id=request_id or new_charge_request_id(),
            agreement_id=agreement.id,
            amount_minor=amount.minor,
            currency=amount.currency,
            payment_method=agreement.wallet,
            order_description=order_description,
            merchant_reference=merchant_reference,
            expires_at=clock.now() + AUTO_DEBIT_EXPIRY,
        )
        if audit.someone_acts(actor_id):
            audit.record(
                session,
                "payment.charge_requested",
                object_type=ObjectType.PAYMENT,
                object_id=payment.id,
                after={
                    "agreement_id": agreement.id,
                    "request_id": payment.request_id,
                    "amount_minor": amount.minor,
                    "currency": amount.currency,
                    "order_description": payment.order_description,
                    "merchant_reference": payment.merchant_reference,
                },
            )
        payment_id = payment.id
        request = _pay_request(payment, agreement)
    send_pay(payment_id, request)
    return db.session.get(Payment, payment_id)


def charge_result(payment: Payment) -> tuple[str, str]:
    """Say what became of a charge just asked for, and how it reads: ``success``, ``info`` or ``error``."""
    amount = format_money(payment.amount)
    wallet = method_label(payment.payment_method)
    status = PaymentStatus(payment.status)
    if status in (PaymentStatus.SUCCEEDED, PaymentStatus.SETTLED):
        return _(
            "Charged %(amount)s to the customer's %(wallet)s wallet.", amount=amount, wallet=wallet
        ), "success"
    if status is PaymentStatus.FAILED:
        said = refusal_words(payment.provider, payment.result_code, payment.result_message, About.PAYMENT)
        return _(
            "%(provider)s refused the charge of %(amount)s; nothing was taken: %(said)s",
            provider=ANTOM.label,
            amount=amount,
            said=said,
        ), "error"
    if status in OPEN_PAYMENT:
        return _(
            "The charge of %(amount)s is processing at %(provider)s; "
            "this page shows its result when it arrives.",
            amount=amount,
            provider=ANTOM.label,
        ), "info"
    return _(
        "The charge of %(amount)s is %(status)s.", amount=amount, status=status_label(payment.status)
    ), "info"


def _pay_request(payment: Payment, agreement: Agreement) -> PayRequest:
    reference = payment.merchant_reference or payment.request_id
    return PayRequest(
        payment_request_id=payment.request_id,
        amount=payment.amount,
        payment_method_type=agreement.wallet,
        access_token=agreement.access_token,
        reference_order_id=reference,
        order_description=payment.order_description or reference,
        # settlementStrategy is left to the client: the contract's currency, not the payment's.
        expiry_time=payment.expires_at,
    )


def send_pay(payment_id: int, request: PayRequest) -> None:
    """Send (or re-send with the same request id) ``pay`` of an open payment and commit the answer."""

    def prepare(payment: Payment) -> Callable[[], object] | None:
        return partial(ANTOM.client().pay, request) if payment.status in OPEN_PAYMENT else None

    provider_step(Payment, payment_id, prepare, _pay_answered)


def _pay_answered(session: Session, payment: Payment, call: Call) -> None:
    news = call.news or PaymentNews.answered(call.outcome, call.code, call.message)
    settle(lambda: apply_payment_news(session, payment, news))
    if call.outcome is CallOutcome.UNKNOWN:
        schedule_inquiry(session, payment)


@dataclass(frozen=True)
class _AfterInquiry:
    """Where an inquiry left a payment, and what is still to do once it is committed."""

    status: str
    resend: PayRequest | None = None
    cancel_id: int | None = None


def inquire(payment_id: int, attempt: int = 0) -> str:
    """Ask Antom where an open payment stands, apply the answer and return the status.

    Still unknown: ask again later with back-off; still unknown at its expiry: cancel it
    (DESIGN §5). A pay Antom never received is sent again with the same request id while it has
    not expired, and failed once it has (nothing was charged, antom.md §5.3).
    """

    def prepare(payment: Payment) -> Callable[[], object] | None:
        if payment.status not in OPEN_PAYMENT:
            return None
        return partial(ANTOM.client().inquiry_payment, payment_request_id=payment.request_id)

    after = provider_step(
        Payment,
        payment_id,
        prepare,
        partial(_inquiry_answered, attempt),
        unsent=lambda payment: _AfterInquiry(payment.status if payment else "missing"),
    )
    if after.resend is not None:
        send_pay(payment_id, after.resend)
    elif after.cancel_id is not None:
        send_cancel(after.cancel_id)
    else:
        return after.status
    return db.session.get(Payment, payment_id).status


def _inquiry_answered(attempt: int, session: Session, payment: Payment, call: Call) -> _AfterInquiry:
    now = clock.now()
    payment.updated_at = now  # the sweeper's "untouched since" mark
    expired = payment.expires_at is not None and now >= payment.expires_at
    resend = None
    if call.news is not None:
        settle(lambda: apply_payment_news(session, payment, call.news))
    elif call.never_received:
        if expired or payment.agreement is None:
            settle(
                lambda: change_payment(
                    session, payment, PaymentEvent.FAILED, result_code=call.code, result_message=call.message
                )
            )
        elif payment.agreement.access_token:
            resend = _pay_request(payment, payment.agreement)
    if resend is not None or payment.status not in OPEN_PAYMENT:
        return _AfterInquiry(payment.status, resend)
    cancelled_before = session.scalar(select(Cancel.id).where(Cancel.payment_id == payment.id).limit(1))
    if expired and payment.agreement_id is not None and cancelled_before is None:
        reason = "still unknown at its expiry"
        try:
            cancel = open_cancel(session, payment, new_request_id("expiry-cancel-"), reason, None)
        except CancelRefused:
            pass  # e.g. a refund Antom told us of meanwhile: the inquiries go on
        else:
            return _AfterInquiry(payment.status, cancel_id=cancel.id)
    schedule_inquiry(session, payment, attempt + 1)
    return _AfterInquiry(payment.status)


#: What a cancel still unknown after the last retry tells staff (Antom's cancel docs: contact support).
CANCEL_GUIDANCE = (
    "Antom answered unknown {answers} times, so the cancel is not sent again. Ask Antom support "
    "whether the payment was cancelled before cancelling or refunding it again."
)


def send_cancel(cancel_id: int) -> None:
    """Send (or re-send: Antom cancels are keyed by the payment) a cancel and commit the answer.

    Nothing is sent for a cancel that is final, or still unknown after the last retry Antom allows
    (:data:`~dashboard.payments.states.MAX_UNKNOWN_CANCEL_ANSWERS`): that one waits for staff.
    """

    def prepare(cancel: Cancel) -> Callable[[], object] | None:
        if cancel.status not in OPEN_CANCEL or cancel.awaits_support:
            return None
        return partial(ANTOM.client().cancel, payment_request_id=cancel.payment.request_id)

    provider_step(Cancel, cancel_id, prepare, _cancel_answered)


def _cancel_answered(session: Session, cancel: Cancel, call: Call) -> None:
    news = call.news or CancelNews.answered(call.outcome, call.code, call.message)
    settle(lambda: apply_cancel_news(session, cancel, news))
    if call.outcome is CallOutcome.FAILED:
        if cancel.payment.status in OPEN_PAYMENT:
            # Refused because it was settled meanwhile (e.g. closed at expiry): find out how.
            schedule_inquiry(session, cancel.payment)
    elif call.outcome is CallOutcome.UNKNOWN and cancel.status in OPEN_CANCEL:
        cancel.unknown_answers += 1
        if cancel.awaits_support:
            _leave_for_support(session, cancel)
        else:
            delay = INQUIRY_BACKOFF[min(cancel.unknown_answers, len(INQUIRY_BACKOFF)) - 1]
            enqueue_after_commit(session, SEND_CANCEL, cancel.id, delay=delay)


def _leave_for_support(session: Session, cancel: Cancel) -> None:
    """Stop retrying a cancel still unknown after the last retry, and say what staff should do."""
    guidance = CANCEL_GUIDANCE.format(answers=cancel.unknown_answers)
    cancel.result_message = guidance
    record_event(
        session,
        ObjectType.PAYMENT,
        cancel.payment_id,
        EventKind.CANCEL_AWAITS_SUPPORT,
        {**cancel.timeline.extra, "result_code": cancel.result_code, "guidance": guidance},
    )


def refund_call(refund: Refund) -> Callable[[], object]:
    """Return the ``refund`` call for a submitted refund (its request id makes a re-send safe)."""
    request = RefundRequest(
        refund_request_id=refund.request_id,
        payment_id=refund.payment.provider_payment_id,
        amount=refund.amount,
        reason=refund.reason,
    )
    return partial(ANTOM.client().refund, request)


def inquire_refund(refund_id: int, attempt: int = 0) -> str:
    """Ask Antom where an open refund stands, apply it and return the status."""

    def prepare(refund: Refund) -> Callable[[], object] | None:
        if refund.status not in OPEN_REFUND:
            return None
        return partial(ANTOM.client().inquiry_refund, refund_request_id=refund.request_id)

    return provider_step(
        Refund,
        refund_id,
        prepare,
        partial(_refund_inquiry_answered, attempt),
        unsent=lambda refund: refund.status if refund else "missing",
    )


def _refund_inquiry_answered(attempt: int, session: Session, refund: Refund, call: Call) -> str:
    if call.news is not None:
        settle(lambda: apply_refund_news(session, refund, call.news))
    elif call.never_received and refund.status == RefundStatus.SUBMITTED:
        # Antom never got it; send it again with the same refundRequestId.
        enqueue_after_commit(session, SEND_REFUND, refund.id)
    if refund.status in OPEN_REFUND:
        schedule_refund_inquiry(session, refund, attempt + 1)
    return refund.status


#: Antom accepts an Auto Debit cancel until 00:15 GMT+8 on the day after the payment (antom.md §5.4,
#: Auto Debit product page "Cancel").
CANCEL_CUTOFF = time(0, 15)
GMT8 = timezone(timedelta(hours=8))


def cancel_window_ends(payment: Payment) -> datetime:
    """Return when Antom stops accepting a cancel of ``payment``: 00:15 GMT+8 the next day."""
    next_day = payment.created_at.astimezone(GMT8).date() + timedelta(days=1)
    return datetime.combine(next_day, CANCEL_CUTOFF, tzinfo=GMT8)


def refund_window() -> timedelta:
    """Return how long after a payment Antom accepts refunds: contractual (``ANTOM_REFUND_WINDOW_DAYS``)."""
    return timedelta(days=current_app.config["ANTOM_REFUND_WINDOW_DAYS"])


#: Antom Auto Debit, as refunds, cancels and inquiries see it.
RAIL = PaymentRail(
    provider=ANTOM.code,
    inquire=inquire,
    refund_call=refund_call,
    inquire_refund=inquire_refund,
    send_cancel=send_cancel,
    cancel_window_ends=cancel_window_ends,
    refund_window=refund_window,
)
