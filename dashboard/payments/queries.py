"""Read side of payments: filtered keyset pages, search by any id, one payment with its parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select
from sqlalchemy import literal_column
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from dashboard.agreements.models import Agreement
from dashboard.events.kinds import ObjectType
from dashboard.events.queries import Timeline
from dashboard.events.queries import object_timeline
from dashboard.events.queries import staff_names
from dashboard.listing import Cursor
from dashboard.listing import newest_first
from dashboard.listing import starts_with
from dashboard.listing import within_days
from dashboard.money import Money
from dashboard.payments.cancels import why_no_cancel
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.rails import rail_for
from dashboard.payments.refunds import refund_eligibility


@dataclass(frozen=True)
class PaymentFilter:
    """What the payments list (and its export) filters on; empty fields do not filter.

    Every field comes from the URL through a validated ``PaymentFilterForm``.
    """

    provider: str | None = None
    status: str | None = None
    #: An id to find, exactly or by its start (see :func:`matches_id`).
    q: str | None = None
    #: A wallet or payment method code, whole, in any case (see :func:`payment_conditions`).
    method: str | None = None
    currency: str | None = None
    #: Amount bounds in major units of ``currency`` (both included); the form allows them only with a
    #: currency and only with the decimals it has.
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    #: Created on these days (both included) in the display time zone.
    day_from: date | None = None
    day_to: date | None = None
    #: Only payments with money refunded.
    has_refunds: bool | None = None


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


def _minor(amount: Decimal, currency: str) -> int:
    return Money.parse(str(amount), currency).minor


def payment_conditions(filters: PaymentFilter, zone: str) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on payments, each answerable from an index (see the models).

    A wallet code matches as each provider stores it (Antom's wallets in capitals, Worldpay's method in
    small letters): the two spellings are two index look-ups, never a case-folding scan. An amount range
    is in minor units of its currency; a single amount is an equality, which its index answers in
    page order. Created days are UTC bounds of the days in ``zone``.
    """
    conditions: list[ColumnElement[bool]] = []
    if filters.provider:
        conditions.append(Payment.provider == filters.provider)
    if filters.status:
        conditions.append(Payment.status == filters.status)
    if filters.method:
        conditions.append(
            Payment.payment_method.in_(sorted({filters.method.upper(), filters.method.lower()}))
        )
    if filters.currency:
        conditions.append(Payment.currency == filters.currency)
    low, high = filters.amount_min, filters.amount_max
    if (low is not None or high is not None) and not filters.currency:
        raise ValueError("an amount range needs its currency")
    if low is not None and low == high:
        conditions.append(Payment.amount_minor == _minor(low, filters.currency))
    else:
        if low is not None:
            conditions.append(Payment.amount_minor >= _minor(low, filters.currency))
        if high is not None:
            conditions.append(Payment.amount_minor <= _minor(high, filters.currency))
    conditions += within_days(Payment.created_at, filters.day_from, filters.day_to, zone)
    if filters.has_refunds:
        # Written out, not bound: a partial index is used only when the query states its condition.
        conditions.append(Payment.refunded_minor > literal_column("0"))
    if filters.q:
        conditions.append(matches_id(filters.q))
    return conditions


def payments_matching(filters: PaymentFilter, zone: str) -> Select:
    """Return the select of payments matching ``filters`` (unordered; pages add the keyset)."""
    return select(Payment).where(*payment_conditions(filters, zone))


def payment_page(
    session: Session, filters: PaymentFilter, zone: str, before: Cursor | None = None
) -> tuple[list[Payment], Cursor | None]:
    """Return one page of payments matching ``filters``, newest first, and the next page's cursor.

    :param zone: the display time zone, whose days the created-day filters name
    """
    return newest_first(session, payments_matching(filters, zone), Payment, before)


def export_rows(filters: PaymentFilter, zone: str) -> Select:
    """Return the columns the CSV export writes, for payments matching ``filters`` (unordered).

    Plain columns, not ORM objects, so reading a million rows keeps nothing in the session. The
    agreement is joined under an alias: the id search's own look-up of customer refs stays apart.
    """
    customer = aliased(Agreement, name="customer")
    return (
        select(
            Payment.id,
            Payment.created_at,
            Payment.provider,
            Payment.request_id,
            Payment.provider_payment_id,
            Payment.payment_method,
            customer.customer_ref,
            Payment.amount_minor,
            Payment.currency,
            Payment.refunded_minor,
            Payment.status,
            Payment.result_code,
            Payment.result_message,
            Payment.paid_at,
            Payment.order_description,
        )
        .outerjoin(customer, customer.id == Payment.agreement_id)
        .where(*payment_conditions(filters, zone))
    )


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
