"""Refund a payment once per request id, whatever its provider; resolve refunds left unknown.

The balance check and the new row share one write transaction with the payment row locked, so
two concurrent requests can never together refund more than was paid (DESIGN §5 "Refund").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments.changes import apply_refund_news
from dashboard.payments.changes import check_new_refund
from dashboard.payments.changes import open_refund
from dashboard.payments.changes import schedule_refund_inquiry
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rail import PaymentRail
from dashboard.payments.rails import rail_for
from dashboard.payments.states import REFUND_IN_FLIGHT
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import RefundStatus
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import new_request_id
from dashboard.providers.news import RefundNews


def new_refund_request_id() -> str:
    """Return a refund request id; a form makes one when it is shown, so a resubmission reuses it."""
    return new_request_id("rf-")


def refund_payment(
    payment_id: int, amount: Money, reason: str | None, request_id: str, *, actor_id: int | None = None
) -> Refund:
    """Refund (part of) a payment once per ``request_id``; return the refund after the provider's answer.

    :raises DuplicateRefund: ``request_id`` was used (a double click): nothing sent again
    :raises RefundRefused: not refundable, wrong currency, more than the balance, or the
        provider cannot refund it now
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotRefundable(f"payment {payment_id} does not exist")
    rail = rail_for(payment.provider)
    db.session.rollback()
    rail.before_refund(payment_id)
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        check_new_refund(session, payment, amount, request_id)
        refusal = rail.refund_refusal(payment, amount.minor)
        if refusal is not None:
            raise NotRefundable(refusal)
        refund = open_refund(session, payment, amount, reason, request_id, actor_id)
        refund_id = refund.id
    send_refund(refund_id)
    return db.session.get(Refund, refund_id)


def send_refund(refund_id: int) -> None:
    """Send a submitted refund to its provider and commit what it answered; any other is left alone."""
    refund = db.session.get(Refund, refund_id)
    rail = rail_for(refund.payment.provider) if refund is not None else None
    db.session.rollback()
    if rail is None:
        return

    def prepare(refund: Refund) -> Callable[[], object] | None:
        # Sent once per request id: never again once the provider has answered it.
        return rail.refund_call(refund) if refund.status == RefundStatus.SUBMITTED else None

    provider_step(Refund, refund_id, prepare, partial(_refund_answered, rail))


def _refund_answered(rail: PaymentRail, session: Session, refund: Refund, call: Call) -> None:
    news = call.news or RefundNews.answered(call.outcome, call.code, call.message)
    settle(lambda: apply_refund_news(session, refund, news))
    if call.outcome is CallOutcome.UNKNOWN and rail.inquire_refund is not None:
        schedule_refund_inquiry(session, refund)


def inquire_refund(refund_id: int, attempt: int = 0) -> str:
    """Ask the provider where an open or unresolved refund stands, apply it and return the status.

    A provider without refund inquiries leaves the refund to its notification.
    """
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        db.session.rollback()
        return "missing"
    status, rail = refund.status, rail_for(refund.payment.provider)
    db.session.rollback()
    if status not in REFUND_IN_FLIGHT or rail.inquire_refund is None:
        return status
    return rail.inquire_refund(refund_id, attempt)
