"""Read side of payments: filtered keyset pages, search by any id, one payment with its parts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard.agreements.models import Agreement
from dashboard.events.kinds import ObjectType
from dashboard.events.queries import Timeline
from dashboard.events.queries import object_timeline
from dashboard.events.queries import staff_names
from dashboard.listing import Cursor
from dashboard.listing import newest_first
from dashboard.listing import starts_with
from dashboard.money import Money
from dashboard.payments.cancels import why_no_cancel
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rails import rail_for
from dashboard.payments.refunds import refund_eligibility


@dataclass(frozen=True)
class PaymentFilter:
    """What the payments list filters on; empty fields do not filter."""

    provider: str | None = None
    status: str | None = None
    #: An id to find, exactly or by its start (see :func:`matches_id`).
    q: str | None = None


def matches_id(q: str) -> ColumnElement[bool]:
    """Match payments by any of their ids, each exactly or by prefix, on indexed columns only.

    Our request id, the provider's payment id, one of its refunds' request or provider ids, or the
    customer reference of its agreement.
    """
    refunds = select(Refund.payment_id).where(
        or_(starts_with(Refund.request_id, q), starts_with(Refund.provider_refund_id, q))
    )
    agreements = select(Agreement.id).where(starts_with(Agreement.customer_ref, q))
    return or_(
        starts_with(Payment.request_id, q),
        starts_with(Payment.provider_payment_id, q),
        Payment.id.in_(refunds),
        Payment.agreement_id.in_(agreements),
    )


def payments_matching(filters: PaymentFilter) -> Select:
    """Return the select of payments matching ``filters`` (unordered; pages add the keyset)."""
    statement = select(Payment)
    if filters.provider:
        statement = statement.where(Payment.provider == filters.provider)
    if filters.status:
        statement = statement.where(Payment.status == filters.status)
    if filters.q:
        statement = statement.where(matches_id(filters.q))
    return statement


def payment_page(
    session: Session, filters: PaymentFilter, before: Cursor | None = None
) -> tuple[list[Payment], Cursor | None]:
    """Return one page of payments matching ``filters``, newest first, and the next page's cursor."""
    return newest_first(session, payments_matching(filters), Payment, before)


@dataclass(frozen=True)
class PaymentDetail:
    """A payment with its refunds, cancels and timeline, as its page shows them."""

    payment: Payment
    refunds: list[Refund]
    cancels: list[Cancel]
    timeline: Timeline
    #: What may be refunded now: nothing unless the payment holds money, its provider can refund
    #: it now and its refund window is open; refunds in flight or awaiting approval count.
    refundable: Money
    #: Staff names by user id, for who requested, approved or rejected a refund or cancel.
    names: dict[int, str]
    #: Why the payment cannot be cancelled now (its provider has no cancel, its window, the rules);
    #: None: it can.
    cancel_refusal: str | None
    #: Whether the payment's provider has a cancel at all (the page then lists the cancels).
    offers_cancel: bool
    #: Whether the page shows what the provider offers to do next with the payment.
    shows_next_actions: bool
    #: Why nothing can be refunded now (None: something can).
    refund_note: str | None = None


def payment_detail(session: Session, payment_id: int) -> PaymentDetail | None:
    """Load one payment with everything its page shows, or None when there is no such payment."""
    payment = session.get(Payment, payment_id)
    if payment is None:
        return None
    refunds = list(session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))
    cancels = list(session.scalars(select(Cancel).where(Cancel.payment_id == payment_id).order_by(Cancel.id)))
    staff = [user for r in refunds for user in (r.requested_by_id, r.approved_by_id, r.rejected_by_id)]
    rail = rail_for(payment.provider)
    eligibility = refund_eligibility(session, payment)
    return PaymentDetail(
        payment=payment,
        refunds=refunds,
        cancels=cancels,
        timeline=object_timeline(session, ObjectType.PAYMENT, payment_id, payment.provider),
        refundable=eligibility.refundable,
        refund_note=eligibility.why_not,
        names=staff_names(session, [*staff, *(c.requested_by_id for c in cancels)]),
        cancel_refusal=why_no_cancel(session, payment),
        offers_cancel=rail.send_cancel is not None,
        shows_next_actions=rail.shows_next_actions,
    )
