"""Start, refund, cancel and resolve payments; move them on provider news (DESIGN §3, §5).

Every operation that calls a provider follows the same three steps: commit the pending row
with its request id; call the provider with no transaction open; commit the outcome in a new
transaction, with the call record on the payment's timeline. A notification may arrive between
the first and the last step: it finds the committed row, and the late answer then only records
its call (the status machine refuses to move backwards).

Refunds and cancels are recorded on their payment's timeline (DESIGN §6: a payment page shows
one timeline).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import CHARGEABLE
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.service import record_event
from dashboard.events.service import record_provider_call
from dashboard.extensions import db
from dashboard.jobs import enqueue_after_commit
from dashboard.money import Money
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import ANTOM_REFUND_STATUS
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import CancelEvent
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import InvalidTransition
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import RefundStatus
from dashboard.payments.states import TransitionError
from dashboard.payments.states import antom_payment_event
from dashboard.payments.states import check_refund
from dashboard.payments.states import clip
from dashboard.payments.states import keep_result
from dashboard.payments.states import next_cancel_status
from dashboard.payments.states import next_refund_status
from dashboard.payments.states import next_status
from dashboard.payments.states import settle
from dashboard.payments.states import worldpay_payment_event
from dashboard.providers import clients
from dashboard.providers.antom import new_request_id
from dashboard.providers.antom.consts import PROVIDER as ANTOM
from dashboard.providers.antom.mapping import PayRequest
from dashboard.providers.antom.mapping import RefundRequest
from dashboard.providers.base import Outcome
from dashboard.providers.base import call_outcome
from dashboard.providers.worldpay.consts import ACTION_PARTIAL_REVERSE
from dashboard.providers.worldpay.consts import ACTION_REVERSE
from dashboard.providers.worldpay.consts import METHOD_ALIPAY_HK
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY
from dashboard.providers.worldpay.mapping import CreatePaymentRequest
from dashboard.providers.worldpay.mapping import PaymentResult as WorldpayPaymentResult
from dashboard.providers.worldpay.mapping import ResultUrls
from dashboard.reports.models import move_in_rollup

PAYMENT = "payment"
#: Auto Debit payments expire one minute after pay (antom.md §5.2 ``paymentExpiryTime``).
AUTO_DEBIT_EXPIRY = timedelta(minutes=1)
#: Seconds between inquiries about an unknown payment or refund; then the sweeper takes over.
INQUIRY_BACKOFF = (5, 10, 20, 40, 80, 160, 300, 600)


class PaymentRefused(ValueError):
    """A request fails a rule before anything is stored or sent."""


class CancelRefused(PaymentRefused):
    """The payment cannot be cancelled (provider, status, refunds, window)."""


# --- status changes, in the caller's transaction ---------------------------------------------------


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
    old = PaymentStatus(payment.status)
    new = next_status(old, event)
    if result_code is not None:
        keep_result(payment, result_code, result_message)
    if new is PaymentStatus.SUCCEEDED and payment.paid_at is None:
        payment.paid_at = paid_at or clock.now()
    if new is old:
        return False
    payment.status = new.value
    move_in_rollup(session, payment, old.value, new.value)
    record_event(
        session,
        PAYMENT,
        payment.id,
        "status_changed",
        {"status": [old.value, new.value], "result_code": result_code, "result_message": result_message},
        notification_id=notification_id,
        actor_id=actor_id,
    )
    return True


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
    """Move ``refund`` by ``event``; a success adds to the payment's refunded amount. Errors as above."""
    old = RefundStatus(refund.status)
    new = next_refund_status(old, event)
    if provider_refund_id and not refund.provider_refund_id:
        refund.provider_refund_id = provider_refund_id
    if result_code is not None:
        keep_result(refund, result_code, result_message)
    if new is old:
        return False
    refund.status = new.value
    if new is RefundStatus.SUCCEEDED:
        refund.refunded_at = refunded_at or clock.now()
        payment = locked(session, Payment, refund.payment_id)
        # The database checks refunded ≤ amount too; this says which refund broke it.
        if payment.refunded_minor + refund.amount_minor > payment.amount_minor:
            raise InvalidTransition("refund", old, RefundEvent(event), "would refund more than was paid")
        payment.refunded_minor += refund.amount_minor
    record_event(
        session,
        PAYMENT,
        refund.payment_id,
        "refund_status_changed",
        {
            "refund_id": refund.id,
            "status": [old.value, new.value],
            "amount_minor": refund.amount_minor,
            "currency": refund.currency,
            "result_code": result_code,
        },
        notification_id=notification_id,
        actor_id=actor_id,
    )
    return True


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
    old = CancelStatus(cancel.status)
    new = next_cancel_status(old, event)
    if result_code is not None:
        keep_result(cancel, result_code, result_message)
    if new is old:
        return False
    cancel.status = new.value
    record_event(
        session,
        PAYMENT,
        cancel.payment_id,
        "cancel_status_changed",
        {"cancel_id": cancel.id, "status": [old.value, new.value], "result_code": result_code},
    )
    if new is CancelStatus.SUCCEEDED:
        cancel.cancelled_at = cancelled_at or clock.now()
        payment = locked(session, Payment, cancel.payment_id)
        settle(lambda: change_payment(session, payment, PaymentEvent.CANCELLED, result_code=result_code))
    return True


def _new_payment(
    session: Session, actor_id: int | None, notification_id: int | None = None, **fields
) -> Payment:
    payment = Payment(status=PaymentStatus.PENDING.value, refunded_minor=0, **fields)
    session.add(payment)
    session.flush()
    move_in_rollup(session, payment, None, payment.status)
    record_event(
        session,
        PAYMENT,
        payment.id,
        "created",
        {"status": payment.status, "amount_minor": payment.amount_minor, "currency": payment.currency},
        actor_id=actor_id,
        notification_id=notification_id,
    )
    return payment


def payment_from_provider(
    session: Session,
    *,
    provider: str,
    request_id: str,
    provider_payment_id: str | None,
    amount: Money,
    created_at: datetime | None,
    notification_id: int,
) -> Payment:
    """Record a payment we learnt of from a provider notification (an Antom payment we had not seen)."""
    return _new_payment(
        session,
        None,
        notification_id,
        provider=provider,
        request_id=request_id[:64],
        provider_payment_id=provider_payment_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        created_at=created_at or clock.now(),
    )


def refund_from_provider(
    session: Session, payment: Payment, request_id: str, amount: Money, notification_id: int
) -> Refund:
    """Record a refund we learnt of from a provider notification (made outside the back office)."""
    refund = Refund(
        payment_id=payment.id,
        request_id=request_id[:128],
        amount_minor=amount.minor,
        currency=amount.currency,
        status=RefundStatus.SUBMITTED.value,
    )
    session.add(refund)
    session.flush()
    record_event(
        session,
        PAYMENT,
        payment.id,
        "refund_requested",
        {
            "refund_id": refund.id,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "source": "provider",
        },
        notification_id=notification_id,
    )
    return refund


def _tasks():
    # The tasks module imports this one; it is read when a job is queued, not at import.
    from dashboard.payments import tasks

    return tasks


def _schedule_inquiry(session: Session, payment: Payment, attempt: int = 0) -> None:
    if attempt < len(INQUIRY_BACKOFF):
        task = _tasks().inquire_payment_task
        enqueue_after_commit(session, task, payment.id, attempt, delay=INQUIRY_BACKOFF[attempt])


# --- Antom Auto Debit ------------------------------------------------------------------------------


def charge_agreement(
    agreement_id: int,
    amount: Money,
    order_description: str,
    *,
    actor_id: int | None = None,
    reference_order_id: str | None = None,
) -> Payment:
    """Debit an active agreement with Antom ``pay``; return the payment as it stands after the answer."""
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        if agreement is None:
            raise PaymentRefused(f"agreement {agreement_id} does not exist")
        if agreement.status not in CHARGEABLE or not agreement.access_token:
            raise PaymentRefused(f"agreement {agreement_id} is {agreement.status}, not active")
        request_id = new_request_id("pay-")
        payment = _new_payment(
            session,
            actor_id,
            provider=ANTOM,
            request_id=request_id,
            agreement_id=agreement.id,
            amount_minor=amount.minor,
            currency=amount.currency,
            payment_method=agreement.wallet,
            order_description=order_description[:256],
            expires_at=clock.now() + AUTO_DEBIT_EXPIRY,
        )
        payment_id = payment.id
        request = _pay_request(payment, agreement, reference_order_id or request_id)
    send_pay(payment_id, request)
    return db.session.get(Payment, payment_id)


def _pay_request(payment: Payment, agreement: Agreement, reference_order_id: str) -> PayRequest:
    return PayRequest(
        payment_request_id=payment.request_id,
        amount=payment.amount,
        payment_method_type=agreement.wallet,
        access_token=agreement.access_token,
        reference_order_id=reference_order_id,
        order_description=payment.order_description or reference_order_id,
        settlement_currency=payment.currency,
        expiry_time=payment.expires_at,
    )


def send_pay(payment_id: int, request: PayRequest) -> None:
    """Send (or re-send with the same request id) ``pay`` and commit what it answered."""
    result, outcome, record, code, message = call_outcome(lambda: clients.antom().pay(request))
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        record_provider_call(session, PAYMENT, payment_id, record, outcome)
        if result is not None and result.payment_id and not payment.provider_payment_id:
            payment.provider_payment_id = result.payment_id
        if outcome is Outcome.SUCCEEDED:
            paid_at = result.payment_time
            settle(lambda: change_payment(session, payment, PaymentEvent.SUCCEEDED, paid_at=paid_at))
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_payment(
                    session, payment, PaymentEvent.FAILED, result_code=code, result_message=message
                )
            )
        else:
            settle(
                lambda: change_payment(
                    session, payment, PaymentEvent.PROCESSING, result_code=code, result_message=message
                )
            )
            _schedule_inquiry(session, payment)


def inquire_payment(payment_id: int, attempt: int = 0) -> str:
    """Ask the provider where a payment stands, apply the answer and return the status.

    Still unknown: ask again later with back-off; an Auto Debit still unknown at its expiry is
    cancelled (DESIGN §5). A payment Antom never received is sent again with the same request
    id while it has not expired, and failed once it has.
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None or PaymentStatus(payment.status) not in (
        PaymentStatus.PENDING,
        PaymentStatus.PROCESSING,
    ):
        db.session.rollback()
        return payment.status if payment else "missing"
    if payment.provider == WORLDPAY:
        return _inquire_worldpay(payment_id, attempt)
    request_id = payment.request_id
    db.session.rollback()
    antom = clients.antom()
    result, outcome, record, code, message = call_outcome(
        lambda: antom.inquiry_payment(payment_request_id=request_id)
    )
    resend: PayRequest | None = None
    cancel_now = False
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        record_provider_call(session, PAYMENT, payment_id, record, outcome)
        payment.updated_at = clock.now()  # the sweeper's "untouched since" mark
        expired = payment.expires_at is not None and clock.now() >= payment.expires_at
        if outcome is Outcome.SUCCEEDED and result.payment_status is not None:
            if result.payment_id and not payment.provider_payment_id:
                payment.provider_payment_id = result.payment_id
            event = antom_payment_event(result.payment_status)
            settle(
                lambda: change_payment(
                    session,
                    payment,
                    event,
                    result_code=result.payment_result_code,
                    result_message=result.payment_result_message,
                    paid_at=result.payment_time,
                )
            )
        elif code == "ORDER_NOT_EXIST":
            # Antom never got the pay: nothing was charged (antom.md §5.3).
            if expired or payment.agreement is None:
                settle(
                    lambda: change_payment(
                        session, payment, PaymentEvent.FAILED, result_code=code, result_message=message
                    )
                )
            elif payment.agreement.access_token:
                resend = _pay_request(payment, payment.agreement, payment.request_id)
        still_open = PaymentStatus(payment.status) in (PaymentStatus.PENDING, PaymentStatus.PROCESSING)
        if still_open and resend is None:
            cancelled_before = session.scalar(
                select(Cancel.id).where(Cancel.payment_id == payment.id).limit(1)
            )
            if expired and payment.agreement_id is not None and cancelled_before is None:
                cancel_now = True
            else:
                _schedule_inquiry(session, payment, attempt + 1)
        status = payment.status
    if resend is not None:
        send_pay(payment_id, resend)
        status = db.session.get(Payment, payment_id).status
    elif cancel_now:
        cancel_payment(payment_id, new_request_id("expiry-cancel-"), "still unknown at its expiry")
        status = db.session.get(Payment, payment_id).status
    return status


# --- AlipayHK via Worldpay -------------------------------------------------------------------------


def shopper_result_urls() -> ResultUrls:
    """Return where Worldpay sends the shopper back to (built from PUBLIC_BASE_URL at call time)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/checkout/"
    return ResultUrls(
        success=base + "success", pending=base + "pending", failure=base + "failure", cancel=base + "cancel"
    )


def create_alipayhk_payment(
    amount: Money,
    narrative: str,
    *,
    actor_id: int | None = None,
    order_description: str | None = None,
    result_urls: ResultUrls | None = None,
) -> Payment:
    """Start an AlipayHK sale with Worldpay; return the payment (with its shopper redirect when it has one).

    :raises PaymentRefused: the amount, currency or narrative break AlipayHK's rules (nothing stored)
    """
    request_id = new_request_id("wp-")
    try:
        request = CreatePaymentRequest(
            transaction_reference=request_id,
            amount=amount,
            narrative=narrative,
            result_urls=result_urls or shopper_result_urls(),
        )
    except ValueError as exc:
        raise PaymentRefused(str(exc)) from None
    with write_transaction(db.session) as session:
        payment = _new_payment(
            session,
            actor_id,
            provider=WORLDPAY,
            request_id=request_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            payment_method=METHOD_ALIPAY_HK,
            order_description=(order_description or narrative)[:256],
        )
        payment_id = payment.id
    result, outcome, record, code, message = call_outcome(lambda: clients.worldpay().create_payment(request))
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        record_provider_call(session, PAYMENT, payment_id, record, outcome)
        if result is not None:
            _take_worldpay_resource(session, payment, result)
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_payment(
                    session, payment, PaymentEvent.FAILED, result_code=code, result_message=message
                )
            )
        else:
            # No answer: the webhook (matched on transactionReference) or the sweeper settles it.
            settle(
                lambda: change_payment(
                    session, payment, PaymentEvent.PROCESSING, result_code=code, result_message=message
                )
            )
    return db.session.get(Payment, payment_id)


def _take_worldpay_resource(session: Session, payment: Payment, result: WorldpayPaymentResult) -> None:
    payment.provider_payment_id = payment.provider_payment_id or result.payment_id
    payment.actions = dict(result.actions)
    if getattr(result, "redirect_url", None):
        payment.redirect_url = result.redirect_url
    event = worldpay_payment_event(result.last_event)
    settle(lambda: change_payment(session, payment, event, result_code=result.last_event))


def _inquire_worldpay(payment_id: int, attempt: int) -> str:
    payment = db.session.get(Payment, payment_id)
    provider_id = payment.provider_payment_id
    db.session.rollback()
    if not provider_id:
        # The create call never answered: only the webhook can tell (no lookup by our reference).
        return payment.status
    result, outcome, record, _, _ = call_outcome(lambda: clients.worldpay().query_payment(provider_id))
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        record_provider_call(session, PAYMENT, payment_id, record, outcome)
        payment.updated_at = clock.now()  # the sweeper's "untouched since" mark
        if result is not None:
            _take_worldpay_resource(session, payment, result)
        if PaymentStatus(payment.status) in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
            _schedule_inquiry(session, payment, attempt + 1)
        return payment.status


# --- refunds ---------------------------------------------------------------------------------------


def new_refund_request_id() -> str:
    """Return a refund request id; a form makes one when it is shown, so a resubmission reuses it."""
    return new_request_id("rf-")


def refund_payment(
    payment_id: int, amount: Money, reason: str | None, request_id: str, *, actor_id: int | None = None
) -> Refund:
    """Refund (part of) a payment once per ``request_id``; return the refund after the provider's answer.

    The balance check and the new row share one write transaction with the payment row locked,
    so two concurrent requests can never together refund more than was paid.

    :raises DuplicateRefund: ``request_id`` was used (a double click): nothing sent again
    :raises RefundRefused: not refundable, wrong currency, or more than the balance
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotRefundable(f"payment {payment_id} does not exist")
    if payment.provider == WORLDPAY:
        refresh_worldpay_actions(payment_id)
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        if amount.currency != payment.currency:
            raise NotRefundable(f"the payment is in {payment.currency}, not {amount.currency}")
        rows = session.execute(
            select(Refund.status, Refund.amount_minor).where(Refund.payment_id == payment.id)
        )
        used = session.scalars(select(Refund.request_id).where(Refund.request_id == request_id))
        check_refund(payment.status, payment.amount_minor, list(rows), amount.minor, request_id, used)
        if payment.provider == WORLDPAY and _reversal_action(payment, amount.minor) is None:
            raise NotRefundable("Worldpay offers no reversal for this payment now")
        refund = Refund(
            payment_id=payment.id,
            request_id=request_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            reason=clip(reason, 256),
            status=RefundStatus.SUBMITTED.value,
            requested_by_id=actor_id,
        )
        session.add(refund)
        session.flush()
        summary = {"refund_id": refund.id, "amount_minor": amount.minor, "currency": amount.currency}
        record_event(
            session,
            PAYMENT,
            payment.id,
            "refund_requested",
            {**summary, "reason": refund.reason},
            actor_id=actor_id,
        )
        audit.record(
            session, "payment.refund_requested", object_type=PAYMENT, object_id=payment.id, after=summary
        )
        refund_id = refund.id
    send_refund(refund_id)
    return db.session.get(Refund, refund_id)


def send_refund(refund_id: int) -> None:
    """Send a submitted refund to its provider and commit what it answered."""
    refund = db.session.get(Refund, refund_id)
    payment = refund.payment
    if payment.provider == ANTOM:
        request = RefundRequest(
            refund_request_id=refund.request_id,
            payment_id=payment.provider_payment_id,
            amount=refund.amount,
            reason=refund.reason,
        )
        db.session.rollback()
        call = lambda: clients.antom().refund(request)  # noqa: E731 - one call, named for _call_outcome
    else:
        call = _worldpay_reversal(payment, refund)
    result, outcome, record, code, message = call_outcome(call)
    with write_transaction(db.session) as session:
        refund = locked(session, Refund, refund_id)
        record_provider_call(session, PAYMENT, refund.payment_id, record, outcome, refund_id=refund_id)
        provider_id = getattr(result, "refund_id", None)
        if outcome is Outcome.SUCCEEDED:
            settle(
                lambda: change_refund(
                    session,
                    refund,
                    RefundEvent.SUCCEEDED,
                    provider_refund_id=provider_id,
                    refunded_at=result.refund_time,
                )
            )
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_refund(
                    session, refund, RefundEvent.FAILED, result_code=code, result_message=message
                )
            )
        else:
            settle(
                lambda: change_refund(
                    session,
                    refund,
                    RefundEvent.PROCESSING,
                    provider_refund_id=provider_id,
                    result_code=code,
                    result_message=message,
                )
            )
            if payment.provider == ANTOM:
                _schedule_refund_inquiry(session, refund)


def refresh_worldpay_actions(payment_id: int) -> dict[str, str]:
    """Query a Worldpay payment for its current ``_actions``, store them and return them ({} if unknown)."""
    provider_id = db.session.get(Payment, payment_id).provider_payment_id
    db.session.rollback()
    if not provider_id:
        return {}
    fresh, outcome, record, _, _ = call_outcome(lambda: clients.worldpay().query_payment(provider_id))
    with write_transaction(db.session) as session:
        record_provider_call(session, PAYMENT, payment_id, record, outcome)
        if fresh is not None:
            locked(session, Payment, payment_id).actions = dict(fresh.actions)
    return dict(fresh.actions) if fresh is not None else {}


def _reversal_action(payment: Payment, amount_minor: int) -> str | None:
    """Return the Worldpay action that refunds ``amount_minor`` of ``payment`` now, if one is offered."""
    actions = payment.actions or {}
    if amount_minor == payment.amount_minor and payment.refunded_minor == 0 and ACTION_REVERSE in actions:
        return ACTION_REVERSE
    return ACTION_PARTIAL_REVERSE if ACTION_PARTIAL_REVERSE in actions else None


def _worldpay_reversal(payment: Payment, refund: Refund):
    """Return the reversal call for ``refund`` from the payment's freshly queried ``_actions``.

    Worldpay reversals have no idempotency key: the refund's unique request id goes out as
    ``reference``, and a timed-out reversal is never sent again (DESIGN §8 "Worldpay refunds").
    """
    worldpay = clients.worldpay()
    action = _reversal_action(payment, refund.amount_minor)
    href = (payment.actions or {}).get(action or "")
    amount, reference = refund.amount, refund.request_id
    db.session.rollback()
    if action == ACTION_REVERSE:
        return lambda: worldpay.reverse(href, amount=amount, reference=reference)
    return lambda: worldpay.partial_reverse(href, amount=amount, reference=reference)


def _schedule_refund_inquiry(session: Session, refund: Refund, attempt: int = 0) -> None:
    if attempt < len(INQUIRY_BACKOFF):
        task = _tasks().inquire_refund_task
        enqueue_after_commit(session, task, refund.id, attempt, delay=INQUIRY_BACKOFF[attempt])


def inquire_refund(refund_id: int, attempt: int = 0) -> str:
    """Ask Antom where a refund stands and apply it; Worldpay refunds wait for their webhook."""
    refund = db.session.get(Refund, refund_id)
    open_statuses = (RefundStatus.SUBMITTED, RefundStatus.PROCESSING)
    if refund is None or RefundStatus(refund.status) not in open_statuses or refund.payment.provider != ANTOM:
        db.session.rollback()
        return refund.status if refund else "missing"
    request_id = refund.request_id
    db.session.rollback()
    result, outcome, record, code, _ = call_outcome(
        lambda: clients.antom().inquiry_refund(refund_request_id=request_id)
    )
    with write_transaction(db.session) as session:
        refund = locked(session, Refund, refund_id)
        record_provider_call(session, PAYMENT, refund.payment_id, record, outcome, refund_id=refund_id)
        if outcome is Outcome.SUCCEEDED and result.refund_status is not None:
            event = ANTOM_REFUND_STATUS[result.refund_status]
            settle(
                lambda: change_refund(
                    session,
                    refund,
                    event,
                    provider_refund_id=result.refund_id,
                    refunded_at=result.refund_time,
                )
            )
        elif code == "ORDER_NOT_EXIST" and RefundStatus(refund.status) is RefundStatus.SUBMITTED:
            # Antom never got it; send it again with the same refundRequestId.
            enqueue_after_commit(session, _tasks().send_refund_task, refund_id)
        if RefundStatus(refund.status) in open_statuses:
            _schedule_refund_inquiry(session, refund, attempt + 1)
        return refund.status


# --- cancels (Antom only) --------------------------------------------------------------------------


def cancel_payment(
    payment_id: int, request_id: str, reason: str | None, *, actor_id: int | None = None
) -> Cancel:
    """Cancel a whole Antom payment (refunding it in full if it was paid); return the cancel.

    :raises CancelRefused: a Worldpay payment (AlipayHK has no cancel), a payment with refunds,
        a final one, or a request id used already
    """
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        if payment is None:
            raise CancelRefused(f"payment {payment_id} does not exist")
        if payment.provider != ANTOM:
            raise CancelRefused("AlipayHK payments through Worldpay cannot be cancelled; refund them instead")
        cancellable = PAYMENT_REFUNDABLE | {PaymentStatus.PENDING, PaymentStatus.PROCESSING}
        if PaymentStatus(payment.status) not in cancellable:
            raise CancelRefused(f"a {payment.status} payment cannot be cancelled")
        if session.scalar(select(Refund.id).where(Refund.payment_id == payment.id).limit(1)) is not None:
            raise CancelRefused("a payment with refunds cannot be cancelled (antom.md §5.4)")
        if session.scalar(select(Cancel.id).where(Cancel.request_id == request_id)) is not None:
            raise CancelRefused(f"cancel request {request_id} exists already")
        cancel = Cancel(
            payment_id=payment.id,
            request_id=request_id,
            reason=clip(reason, 256),
            status=CancelStatus.SUBMITTED.value,
            requested_by_id=actor_id,
        )
        session.add(cancel)
        session.flush()
        record_event(
            session,
            PAYMENT,
            payment.id,
            "cancel_requested",
            {"cancel_id": cancel.id, "reason": cancel.reason},
            actor_id=actor_id,
        )
        if actor_id is not None:
            audit.record(
                session,
                "payment.cancel_requested",
                object_type=PAYMENT,
                object_id=payment.id,
                after={"cancel_id": cancel.id},
            )
        cancel_id = cancel.id
    send_cancel(cancel_id)
    return db.session.get(Cancel, cancel_id)


def send_cancel(cancel_id: int) -> None:
    """Send (or re-send: Antom cancels are keyed by the payment) a cancel and commit the answer."""
    cancel = db.session.get(Cancel, cancel_id)
    request_id = cancel.payment.request_id
    db.session.rollback()
    result, outcome, record, code, message = call_outcome(
        lambda: clients.antom().cancel(payment_request_id=request_id)
    )
    with write_transaction(db.session) as session:
        cancel = locked(session, Cancel, cancel_id)
        record_provider_call(session, PAYMENT, cancel.payment_id, record, outcome, cancel_id=cancel_id)
        if outcome is Outcome.SUCCEEDED:
            settle(
                lambda: change_cancel(
                    session, cancel, CancelEvent.SUCCEEDED, result_code=code, cancelled_at=result.cancel_time
                )
            )
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_cancel(
                    session, cancel, CancelEvent.FAILED, result_code=code, result_message=message
                )
            )
            payment = cancel.payment
            if PaymentStatus(payment.status) in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
                # Refused because it was settled meanwhile (e.g. closed at expiry): find out how.
                _schedule_inquiry(session, payment)
        else:
            settle(
                lambda: change_cancel(
                    session, cancel, CancelEvent.PROCESSING, result_code=code, result_message=message
                )
            )
            enqueue_after_commit(session, _tasks().send_cancel_task, cancel_id, delay=INQUIRY_BACKOFF[0])


__all__ = [
    "CancelRefused",
    "PaymentRefused",
    "TransitionError",
    "cancel_payment",
    "change_cancel",
    "change_payment",
    "change_refund",
    "charge_agreement",
    "create_alipayhk_payment",
    "inquire_payment",
    "inquire_refund",
    "payment_from_provider",
    "refund_from_provider",
    "refund_payment",
]
