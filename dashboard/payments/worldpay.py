"""AlipayHK sales through Worldpay: start a sale, follow it, refund it (worldpay_hkach.md part 1).

A sale answers with the shopper's page and settles by events matched on our reference; one whose
create never answered is found by that reference (Payment Queries) and then queried.
Refunds use the reversals the payment's freshly queried actions offer; Worldpay has no
idempotency key for them, so a reversal that timed out is never sent again (DESIGN §8
"Worldpay refunds"). There is no cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import object_session

from dashboard import clock
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.changes import REFRESH_PAYMENT
from dashboard.payments.changes import PaymentRefused
from dashboard.payments.changes import apply_payment_news
from dashboard.payments.changes import apply_refund_news
from dashboard.payments.changes import keep_result
from dashboard.payments.changes import new_payment
from dashboard.payments.changes import schedule_inquiry
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rail import PaymentRail
from dashboard.payments.rail import Refundable
from dashboard.payments.rail import balance_by_status
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import OPEN_REFUND
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import REFUND_IN_FLIGHT
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import RefundStatus
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import new_request_id
from dashboard.providers.news import PaymentNews
from dashboard.providers.news import RefundNews
from dashboard.providers.news import RefundsOnRecord
from dashboard.providers.worldpay.consts import METHOD_ALIPAY_HK
from dashboard.providers.worldpay.consts import NO_FINAL_EVENT
from dashboard.providers.worldpay.consts import RESOLVED_FROM_RECORDS
from dashboard.providers.worldpay.mapping import CreatePaymentRequest
from dashboard.providers.worldpay.mapping import ResultUrls
from dashboard.providers.worldpay.mapping import refund_action
from dashboard.providers.worldpay.mapping import why_no_reversal
from dashboard.providers.worldpay.provider import WORLDPAY


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
        payment = new_payment(
            session,
            actor_id,
            provider=WORLDPAY.code,
            request_id=request_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            payment_method=METHOD_ALIPAY_HK,
            order_description=order_description or narrative,
        )
        payment_id = payment.id
    provider_step(
        Payment, payment_id, lambda payment: partial(WORLDPAY.client().create_payment, request), _created
    )
    return db.session.get(Payment, payment_id)


def _created(session: Session, payment: Payment, call: Call) -> None:
    news = call.news or PaymentNews.answered(call.outcome, call.code, call.message)
    settle(lambda: apply_payment_news(session, payment, news))
    if call.result is None and call.outcome is CallOutcome.UNKNOWN:
        # No answer at all (a timeout, a 5xx): the webhook may be lost too, so ask, by our reference.
        schedule_inquiry(session, payment)


def _lookup_call(payment: Payment) -> Callable[[], object] | None:
    # Only a sale whose create never answered lacks Worldpay's paymentId: find it by our reference.
    if payment.provider_payment_id:
        return None
    return partial(WORLDPAY.client().lookup_payment, payment.request_id)


def _query_call(payment: Payment) -> Callable[[], object] | None:
    if not payment.provider_payment_id:
        return None
    return partial(WORLDPAY.client().query_payment, payment.provider_payment_id)


def inquire(payment_id: int, attempt: int = 0) -> str:
    """Query an open sale, apply its last event and return the status; ask again while it stays open.

    A sale whose create never answered is first looked up by our reference (Payment Queries), then
    queried by the paymentId found; while it is not found, it is asked about again later.
    """
    found = provider_step(
        Payment,
        payment_id,
        _lookup_call,
        partial(_looked_up, attempt),
        unsent=lambda payment: payment is not None and payment.provider_payment_id is not None,
    )
    if not found:
        payment = db.session.get(Payment, payment_id)
        status = payment.status if payment is not None else "missing"
        db.session.rollback()
        return status
    return provider_step(
        Payment, payment_id, _query_call, partial(_queried, attempt), unsent=lambda payment: payment.status
    )


def _looked_up(attempt: int, session: Session, payment: Payment, call: Call) -> bool:
    payment.updated_at = clock.now()  # the sweeper's "untouched since" mark
    if call.news is not None:
        settle(lambda: apply_payment_news(session, payment, call.news))  # keeps the paymentId found
        return True
    if payment.status in OPEN_PAYMENT:
        schedule_inquiry(session, payment, attempt + 1)
    return False


def _queried(attempt: int, session: Session, payment: Payment, call: Call) -> str:
    payment.updated_at = clock.now()  # the sweeper's "untouched since" mark
    if call.news is not None:
        settle(lambda: apply_payment_news(session, payment, call.news))
    if payment.status in OPEN_PAYMENT:
        schedule_inquiry(session, payment, attempt + 1)
    return payment.status


def refresh_next_actions(payment_id: int) -> None:
    """Query a sale before a refund: the actions Worldpay offers now decide which refunds are possible."""
    provider_step(Payment, payment_id, _query_call, _refreshed)


def _refreshed(session: Session, payment: Payment, call: Call) -> None:
    news = call.news
    if news is None:
        return
    # A fresh answer is news like any other (the status may have moved on without its event)...
    settle(lambda: apply_payment_news(session, payment, news))
    # ...and what it says last is kept as seen, so a refusal can say why no reversal is offered.
    keep_result(session, payment, news.code, news.message)


def refresh_after_news(session: Session, payment: Payment) -> None:
    """Queue a fresh look at the actions of a sale that holds money once an event about it was
    applied: events carry no actions, and the payment page's refundable figure reads them."""
    if payment.status in PAYMENT_REFUNDABLE:
        enqueue_after_commit(session, REFRESH_PAYMENT, payment.id)


def _whole_payment(payment: Payment, amount_minor: int) -> bool:
    return amount_minor == payment.amount_minor and payment.refunded_minor == 0


def _no_reversal(payment: Payment, refunds: list[Refund]) -> str:
    """Say why Worldpay offers no reversal of ``payment`` now, and when to try again."""
    in_flight = [refund for refund in refunds if refund.status in OPEN_REFUND]
    if in_flight:
        # Worldpay offers no reversal while one is in process (§1.8): name ours.
        oldest = min(in_flight, key=lambda refund: refund.id)
        return _l(
            "Worldpay offers no reversal while refund %(refund)s of %(amount)s is in flight; try again once "
            "it has finished (its status shows on this payment's page)",
            refund=oldest.request_id,
            amount=format_money(oldest.amount),
        )
    return _l(
        "Worldpay offers no reversal for this payment now: %(why)s", why=why_no_reversal(payment.result_code)
    )


def refund_refusal(payment: Payment, amount_minor: int) -> str | None:
    """Return why Worldpay cannot refund ``amount_minor`` now (no such reversal offered), or None."""
    if refund_action(payment.actions or {}, _whole_payment(payment, amount_minor)) is None:
        session = object_session(payment)
        refunds = session.scalars(select(Refund).where(Refund.payment_id == payment.id)).all()
        return _no_reversal(payment, list(refunds))
    return None


def partial_refunds(payment: Payment) -> bool:
    """Return True while the sale's actions (as last seen) offer a partial reversal."""
    return refund_action(payment.actions or {}, whole_payment=False) is not None


def refundable(payment: Payment, refunds: list[Refund]) -> Refundable:
    """Return what may be refunded now: the balance, but only while the actions last seen offer a
    reversal of it (an authorised sale holds money yet offers none, nor one with a refund in flight)."""
    held = balance_by_status(payment, refunds)
    if held.minor == 0:
        return held
    if refund_action(payment.actions or {}, held.minor == payment.amount_minor) is None:
        return Refundable(0, _no_reversal(payment, refunds))
    return held


def refund_call(refund: Refund) -> Callable[[], object]:
    """Return the reversal call for a submitted refund, chosen from the payment's fresh actions."""
    payment = refund.payment
    return partial(
        WORLDPAY.client().refund,
        dict(payment.actions or {}),
        amount=refund.amount,
        reference=refund.request_id,
        whole_payment=_whole_payment(payment, refund.amount_minor),
    )


def resolution_period() -> timedelta:
    """Return how long after a refund is sent its fate is read from Worldpay's records, when no
    ``refunded`` or refund failure came (``WORLDPAY_REFUND_RESOLUTION_DAYS``)."""
    return timedelta(days=current_app.config["WORLDPAY_REFUND_RESOLUTION_DAYS"])


def _records_call(refund: Refund) -> Callable[[], object] | None:
    # An unresolved refund is read again whenever asked (staff); the others once the period is over.
    if refund.status not in REFUND_IN_FLIGHT or not refund.payment.provider_payment_id:
        return None
    if refund.status != RefundStatus.UNRESOLVED and clock.now() < refund.created_at + resolution_period():
        return None
    return partial(WORLDPAY.client().retrieve_payment, refund.payment.provider_payment_id)


def inquire_refund(refund_id: int, attempt: int = 0) -> str:
    """Settle a refund that no ``refunded`` or refund-failure event finished within the period.

    Worldpay sends ``refunded`` "only in certain use cases", and a reversal has no inquiry of its
    own; so once the period is over the payment's records (Payment Queries) are read. Its balance
    down by the refund (Worldpay holds the refund as taken, with everything we count as refunded)
    and no failure recorded: succeeded. A failure recorded: failed. Anything else — records that
    do not show it, or cannot be read — leaves it ``unresolved`` for staff, with why. Before the
    period nothing is asked (the sweeper passes by every few minutes; that costs no call).
    """
    return provider_step(
        Refund,
        refund_id,
        _records_call,
        _resolved,
        unsent=lambda refund: refund.status if refund else "missing",
    )


def _resolved(session: Session, refund: Refund, call: Call) -> str:
    refund.updated_at = clock.now()  # the sweeper's "untouched since" mark
    if call.outcome is CallOutcome.UNKNOWN:
        return refund.status  # no answer (a timeout, a 5xx): asked again on a later sweep
    payment = locked(session, Payment, refund.payment_id)
    news = _resolution(payment, refund, call)
    settle(lambda: apply_refund_news(session, refund, news))
    return refund.status


def _resolution(payment: Payment, refund: Refund, call: Call) -> RefundNews:
    """Decide a refund's fate from what Worldpay's records say of it (see :func:`inquire_refund`)."""
    days = f"{current_app.config['WORLDPAY_REFUND_RESOLUTION_DAYS']:g} days"
    records: RefundsOnRecord | None = call.news
    if records is None:
        why = call.message or call.code or "no answer"
        return RefundNews(
            RefundEvent.UNRESOLVED,
            NO_FINAL_EVENT,
            f"No refund event in {days}, and Worldpay's records could not be read ({why}): "
            "check it with Worldpay",
        )
    if refund.request_id in records.failed:
        return RefundNews(
            RefundEvent.FAILED,
            records.failed[refund.request_id],
            "Worldpay's records show this refund failed",
        )
    # What Worldpay would hold as left to refund had it taken this refund and those we count refunded.
    expected = Money(payment.amount_minor - payment.refunded_minor - refund.amount_minor, payment.currency)
    if refund.request_id in records.taken and records.balance.minor <= expected.minor:
        return RefundNews(
            RefundEvent.SUCCEEDED,
            RESOLVED_FROM_RECORDS,
            f"No refunded event in {days}; Worldpay's records show it taken (balance "
            f"{format_money(records.balance)}) and no failure",
        )
    return RefundNews(
        RefundEvent.UNRESOLVED,
        NO_FINAL_EVENT,
        f"No refund event in {days}, and Worldpay's records do not show it taken (balance "
        f"{format_money(records.balance)}, {format_money(expected)} if it were): check it with Worldpay",
    )


#: AlipayHK through Worldpay, as refunds, cancels and inquiries see it.
RAIL = PaymentRail(
    provider=WORLDPAY.code,
    inquire=inquire,
    refund_call=refund_call,
    inquire_refund=inquire_refund,
    cancel_refusal=_l("Worldpay has no cancel for AlipayHK payments: refund them instead"),
    before_refund=refresh_next_actions,
    refund_refusal=refund_refusal,
    partial_refunds=partial_refunds,
    refundable=refundable,
    after_news=refresh_after_news,
    shows_next_actions=True,
)
