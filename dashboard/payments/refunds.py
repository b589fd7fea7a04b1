"""Refund a payment once per request id, whatever its provider; resolve refunds left unknown.

The balance check and the new row share one write transaction with the payment row locked, so
two concurrent requests can never together refund more than was paid (DESIGN §5 "Refund").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import DEFAULT_LANGUAGE
from dashboard.i18n import gettext as _
from dashboard.i18n import in_language
from dashboard.i18n import lazy_gettext as _l
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.changes import apply_refund_news
from dashboard.payments.changes import change_refund
from dashboard.payments.changes import check_new_refund
from dashboard.payments.changes import open_refund
from dashboard.payments.changes import schedule_refund_inquiry
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rail import PaymentRail
from dashboard.payments.rails import rail_for
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import REFUND_IN_FLIGHT
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import RefundStatus
from dashboard.payments.states import refundable_minor
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import new_request_id
from dashboard.providers.guidance import About
from dashboard.providers.methods import method_label
from dashboard.providers.news import RefundNews
from dashboard.providers.registry import label as provider_label
from dashboard.providers.registry import refusal_words
from dashboard.statuses import status_label

#: Why nothing may be refunded once the provider's refund window is over.
WINDOW_OVER = _l("its refund window is over: the provider no longer accepts refunds of it")


def new_refund_request_id() -> str:
    """Return a refund request id; a form makes one when it is shown, so a resubmission reuses it."""
    return new_request_id("rf-")


@dataclass(frozen=True)
class RefundEligibility:
    """What staff see before a refund moves anything: the eligibility preview of one payment."""

    paid: Money
    refunded: Money
    #: Refunds waiting for approval, sent without a final answer, or unresolved.
    in_flight: Money
    #: What may be refunded now (nothing, with ``why_not``, when nothing may).
    refundable: Money
    why_not: str | None
    #: When the provider stops accepting refunds of it (None: the provider has no set window).
    window_ends: datetime | None
    #: Whether less than the whole refundable amount may be refunded.
    partial: bool
    #: The refunds in flight, oldest first (a second refund while one is in flight is confirmed).
    open_refunds: tuple[Refund, ...]

    @property
    def days_left(self) -> int | None:
        """Return the whole days left in the refund window (None without a window)."""
        if self.window_ends is None:
            return None
        return max((self.window_ends - clock.now()).days, 0)


def refund_window_ends(payment: Payment) -> datetime | None:
    """Return when ``payment``'s provider stops accepting refunds of it, or None without a window."""
    window = rail_for(payment.provider).refund_window()
    return None if window is None else (payment.paid_at or payment.created_at) + window


def refund_eligibility(session: Session, payment: Payment) -> RefundEligibility:
    """Return the refund preview of ``payment`` from what is stored (and the provider's last word)."""
    refunds = list(session.scalars(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id)))
    rail = rail_for(payment.provider)
    refundable = rail.refundable(payment, refunds)
    minor, why_not = refundable.minor, refundable.why_not
    window_ends = refund_window_ends(payment)
    if minor and window_ends is not None and clock.now() >= window_ends:
        minor, why_not = 0, WINDOW_OVER
    if not minor and why_not is None:
        why_not = _why_nothing(payment)
    open_refunds = tuple(
        r for r in refunds if r.status in REFUND_IN_FLIGHT | {RefundStatus.AWAITING_APPROVAL}
    )
    return RefundEligibility(
        paid=payment.amount,
        refunded=payment.refunded,
        in_flight=Money(sum(r.amount_minor for r in open_refunds), payment.currency),
        refundable=Money(minor, payment.currency),
        why_not=why_not,
        window_ends=window_ends,
        partial=rail.partial_refunds(payment),
        open_refunds=open_refunds,
    )


def _why_nothing(payment: Payment) -> str:
    if payment.status not in PAYMENT_REFUNDABLE:
        return _l("a %(status)s payment holds no money to refund", status=status_label(payment.status))
    if payment.refunded_minor >= payment.amount_minor:
        return _l("it is refunded in full")
    return _l("what is left is in refunds in flight or waiting for approval")


def approval_threshold(currency: str) -> Money | None:
    """Return the refund amount from which a second person approves (``REFUND_APPROVAL_THRESHOLDS``).

    None: the currency has no threshold, so every refund in it waits for approval.
    """
    minor = current_app.config["REFUND_APPROVAL_THRESHOLDS"].get(currency)
    return None if minor is None else Money(minor, currency)


def needs_approval(amount: Money) -> bool:
    """Return True when a refund of ``amount`` waits for a second person."""
    threshold = approval_threshold(amount.currency)
    return threshold is None or amount.minor >= threshold.minor


def refund_preview(payment_id: int) -> tuple[Payment, RefundEligibility] | None:
    """Bring the provider's word on a payment up to date; return it with its refund preview.

    None when there is no such payment.
    """
    refresh_payment(payment_id)
    payment = db.session.get(Payment, payment_id)
    return None if payment is None else (payment, refund_eligibility(db.session, payment))


def refresh_payment(payment_id: int) -> None:
    """Bring what the provider says of a payment up to date (e.g. the refunds it offers now)."""
    payment = db.session.get(Payment, payment_id)
    rail = rail_for(payment.provider) if payment is not None else None
    db.session.rollback()
    if rail is not None:
        rail.before_refund(payment_id)


def refund_payment(
    payment_id: int,
    amount: Money,
    reason: str | None,
    request_id: str,
    *,
    note: str | None = None,
    actor_id: int | None = None,
) -> Refund:
    """Refund (part of) a payment once per ``request_id``; return the refund after the provider's answer.

    At or above the approval threshold the refund waits for a second person instead
    (``awaiting_approval``; :func:`approve_refund` sends it).

    :raises DuplicateRefund: ``request_id`` was used (a double click): nothing sent again
    :raises RefundRefused: not refundable, wrong currency, more than the balance, past the
        refund window, or the provider cannot refund it now
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotRefundable(_l("payment %(id)s does not exist", id=payment_id))
    rail = rail_for(payment.provider)
    db.session.rollback()
    rail.before_refund(payment_id)
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        check_new_refund(session, payment, amount, request_id)
        refusal = _provider_refusal(rail, payment, amount)
        if refusal is not None:
            raise NotRefundable(refusal)
        waits = needs_approval(amount)
        refund = open_refund(
            session, payment, amount, reason, request_id, actor_id, note=note, awaiting_approval=waits
        )
        refund_id = refund.id
    if not waits:
        send_refund(refund_id)
    return db.session.get(Refund, refund_id)


def _provider_refusal(rail: PaymentRail, payment: Payment, amount: Money) -> str | None:
    """Return why the provider will not take this refund now (its window, its rules), or None."""
    window_ends = refund_window_ends(payment)
    if window_ends is not None and clock.now() >= window_ends:
        return WINDOW_OVER
    return rail.refund_refusal(payment, amount.minor)


def approve_refund(refund_id: int, *, actor_id: int, comment: str | None = None) -> Refund:
    """Approve a refund that waits (never one's own) and send it; return it after the provider's answer.

    The rules are checked again against the payment as it is now; a refund that cannot be sent
    any more stays waiting, the refusal is audited, and :class:`ApprovalRefused` says why.

    :raises ApprovalRefused: not waiting, the approver asked for it, or no longer refundable
    """
    refund = _waiting(refund_id, actor_id)
    rail = rail_for(refund.payment.provider)
    payment_id = refund.payment_id
    db.session.rollback()
    rail.before_refund(payment_id)
    with write_transaction(db.session) as session:
        refund = _waiting(refund_id, actor_id, session)
        payment = locked(session, Payment, payment_id)
        stale = _no_longer_refundable(session, rail, payment, refund)
        if stale is None:
            refund.approved_by_id, refund.decided_at, refund.decision_comment = actor_id, clock.now(), comment
            change_refund(session, refund, RefundEvent.APPROVED, actor_id=actor_id)
        _audit_decision(
            session,
            refund,
            "payment.refund_approved" if stale is None else "payment.refund_approval_failed",
            comment,
            stale,
        )
    if stale is not None:
        raise ApprovalRefused(
            _l("it cannot be sent any more: %(why)s; reject it, or wait and approve again", why=stale)
        )
    send_refund(refund_id)
    return db.session.get(Refund, refund_id)


def reject_refund(refund_id: int, *, actor_id: int, comment: str | None = None) -> Refund:
    """Reject a refund that waits (never one's own): it ends, and its amount is refundable again.

    :raises ApprovalRefused: not waiting, or the rejecting manager asked for it
    """
    with write_transaction(db.session) as session:
        refund = _waiting(refund_id, actor_id, session)
        refund.rejected_by_id, refund.decided_at, refund.decision_comment = actor_id, clock.now(), comment
        change_refund(session, refund, RefundEvent.REJECTED, actor_id=actor_id)
        _audit_decision(session, refund, "payment.refund_rejected", comment)
    return db.session.get(Refund, refund_id)


def _waiting(refund_id: int, actor_id: int, session: Session | None = None) -> Refund:
    """Return the refund (locked when ``session`` is given) if ``actor_id`` may decide on it now."""
    refund = locked(session, Refund, refund_id) if session is not None else db.session.get(Refund, refund_id)
    if refund is None:
        raise ApprovalRefused(_l("there is no such refund"))
    if refund.status != RefundStatus.AWAITING_APPROVAL:
        raise ApprovalRefused(_l("it is %(status)s already", status=status_label(refund.status)))
    if refund.requested_by_id == actor_id:
        raise ApprovalRefused(_l("you asked for this refund: another manager must decide on it"))
    return refund


def _no_longer_refundable(
    session: Session, rail: PaymentRail, payment: Payment, refund: Refund
) -> str | None:
    """Return why a waiting refund can no longer be sent as the payment now stands, or None."""
    if payment.status not in PAYMENT_REFUNDABLE:
        return _l("the payment is %(status)s now", status=status_label(payment.status))
    others = session.execute(
        select(Refund.status, Refund.amount_minor).where(
            Refund.payment_id == payment.id, Refund.id != refund.id
        )
    )
    if refund.amount_minor > refundable_minor(payment.amount_minor, list(others)):
        return _l("other refunds took what is left")
    return _provider_refusal(rail, payment, refund.amount)


def _audit_decision(
    session: Session, refund: Refund, action: str, comment: str | None, failure: str | None = None
) -> None:
    after = {**refund.timeline.extra, "status": refund.status, "comment": comment}
    if failure is not None:
        with in_language(DEFAULT_LANGUAGE):
            after["why"] = str(failure)  # kept in English, as every audit entry is
    audit.record(session, action, object_type=ObjectType.PAYMENT, object_id=refund.payment_id, after=after)


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


def refund_summary(payment: Payment, amount: Money) -> str:
    """Say in one sentence what refunding ``amount`` of ``payment`` does (the confirmation and the queue)."""
    return _(
        "Refund %(amount)s of %(total)s to the customer's %(wallet)s wallet via %(provider)s.",
        amount=format_money(amount),
        total=format_money(payment.amount),
        wallet=method_label(payment.payment_method),
        provider=provider_label(payment.provider),
    )


def refund_result(refund: Refund) -> tuple[str, str]:
    """Say what became of a refund just asked for, and how it reads: ``success``, ``info`` or ``error``."""
    amount, provider = format_money(refund.amount), provider_label(refund.payment.provider)
    status = RefundStatus(refund.status)
    if status is RefundStatus.SUCCEEDED:
        return _(
            "Refunded %(amount)s to the customer via %(provider)s.", amount=amount, provider=provider
        ), "success"
    if status is RefundStatus.AWAITING_APPROVAL:
        return _(
            "The refund of %(amount)s waits for a second manager's approval; this page shows it.",
            amount=amount,
        ), "info"
    if status is RefundStatus.FAILED:
        said = refusal_words(refund.payment.provider, refund.result_code, refund.result_message, About.REFUND)
        return _(
            "%(provider)s refused the refund of %(amount)s: %(said)s",
            provider=provider,
            amount=amount,
            said=said,
        ), "error"
    if status is RefundStatus.REJECTED:
        return _("The refund of %(amount)s was rejected; nothing was sent.", amount=amount), "info"
    return _(
        "The refund of %(amount)s is with %(provider)s; this page shows its result when it arrives.",
        amount=amount,
        provider=provider,
    ), "info"


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
