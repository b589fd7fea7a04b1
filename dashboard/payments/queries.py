"""Read side of payments: filtered keyset pages, search by any id, one payment with its parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import literal_column
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from dashboard.agreements.models import Agreement
from dashboard.db import checked_on_rows
from dashboard.events.kinds import ObjectType
from dashboard.events.queries import Timeline
from dashboard.events.queries import object_timeline
from dashboard.events.queries import staff_names
from dashboard.listing import Cursor
from dashboard.listing import Found
from dashboard.listing import IdKind
from dashboard.listing import Page
from dashboard.listing import among_found
from dashboard.listing import find_ids
from dashboard.listing import in_page_order_when_many
from dashboard.listing import searched_page
from dashboard.listing import with_own_number
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
    #: The provider's result code the payment holds, whole, as stored (the errors report links here).
    code: str | None = None
    #: An id to find, exactly or by its start (see :data:`PAYMENT_IDS`).
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


def _payments_where(condition: ColumnElement[bool]) -> Select:
    return select(Payment.id).where(condition)


def _refunded_payments_where(condition: ColumnElement[bool]) -> Select:
    return select(Refund.payment_id).where(condition)


def _customer_payments_where(condition: ColumnElement[bool]) -> Select:
    return select(Payment.id).where(Payment.agreement_id.in_(select(Agreement.id).where(condition)))


#: The result-code filter's value for payments that hold no code (no provider code is a dash).
NO_CODE = "-"

#: What a payments search finds, each exactly or by its start: our request id, the provider's payment
#: id, one of its refunds' request or provider ids, or the customer reference of its agreement (and,
#: exactly, the payment's own number: ``437`` or ``#437``).
PAYMENT_IDS = (
    IdKind(Payment.request_id, _payments_where),
    IdKind(Payment.provider_payment_id, _payments_where),
    IdKind(Refund.request_id, _refunded_payments_where),
    IdKind(Refund.provider_refund_id, _refunded_payments_where),
    IdKind(Agreement.customer_ref, _customer_payments_where),
)


def found_payments(session: Session, filters: PaymentFilter) -> Found | None:
    """Return the ids of the payments ``filters``' search names (None: no search)."""
    return (
        find_ids(session, filters.q, with_own_number(filters.q, PAYMENT_IDS, Payment.id))
        if filters.q
        else None
    )


def _minor(amount: Decimal, currency: str) -> int:
    return Money.parse(str(amount), currency).minor


def payment_conditions(
    session: Session, filters: PaymentFilter, zone: str, found: Found | None = None
) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on payments, each answerable from an index (see the models).

    A search is answered by the ids ``found`` for it (:func:`found_payments`), which it needs.

    A wallet code matches as each provider stores it (Antom's wallets in capitals, Worldpay's method in
    small letters): the two spellings are two index look-ups, never a case-folding scan. An amount range
    is in minor units of its currency; a single amount is an equality, which its index answers in
    page order. Created days are UTC bounds of the days in ``zone``.
    """
    conditions: list[ColumnElement[bool]] = []
    plain: list[ColumnElement[bool]] = []
    if filters.provider:
        plain.append(Payment.provider == filters.provider)
    if filters.status:
        plain.append(Payment.status == filters.status)
    if filters.method:
        plain.append(Payment.payment_method.in_(sorted({filters.method.upper(), filters.method.lower()})))
    if filters.currency:
        plain.append(Payment.currency == filters.currency)
    if filters.code:
        if filters.code == NO_CODE:
            conditions.append(or_(Payment.result_code.is_(None), Payment.result_code == ""))
        else:
            conditions.append(Payment.result_code == filters.code)
    if filters.code or filters.has_refunds:
        # A result code, or having refunds, names fewer payments than a provider, status, wallet or
        # currency: its index is walked in page order and those are checked on the rows it finds.
        plain = [checked_on_rows(condition) for condition in plain]
    conditions += plain
    low, high = filters.amount_min, filters.amount_max
    if (low is not None or high is not None) and not filters.currency:
        raise ValueError("an amount range needs its currency")
    if low is not None and low == high:
        conditions.append(Payment.amount_minor == _minor(low, filters.currency))
    elif low is not None or high is not None:
        bounds = []
        if low is not None:
            bounds.append(Payment.amount_minor >= _minor(low, filters.currency))
        if high is not None:
            bounds.append(Payment.amount_minor <= _minor(high, filters.currency))
        in_currency = and_(Payment.currency == filters.currency, *bounds)
        conditions.append(in_page_order_when_many(session, Payment, in_currency))
    conditions += within_days(Payment.created_at, filters.day_from, filters.day_to, zone)
    if filters.has_refunds:
        # Written out, not bound: a partial index is used only when the query states its condition.
        conditions.append(Payment.refunded_minor > literal_column("0"))
    if filters.q and found is None:
        raise ValueError("a search needs the ids it names found first")
    return among_found(Payment, found, conditions)


#: What the payments list shows of each payment.
LISTED_COLUMNS = (
    Payment.id,
    Payment.created_at,
    Payment.provider,
    Payment.request_id,
    Payment.provider_payment_id,
    Payment.amount_minor,
    Payment.currency,
    Payment.status,
    Payment.refunded_minor,
)


def payments_matching(
    session: Session, filters: PaymentFilter, zone: str, found: Found | None = None
) -> Select:
    """Return the listed columns of payments matching ``filters`` (unordered; pages add the keyset)."""
    return select(*LISTED_COLUMNS).where(*payment_conditions(session, filters, zone, found))


def payment_page(session: Session, filters: PaymentFilter, zone: str, before: Cursor | None = None) -> Page:
    """Return one page of payments matching ``filters``, newest first, with the next page's cursor.

    :param zone: the display time zone, whose days the created-day filters name
    """
    found = found_payments(session, filters)
    return searched_page(session, payments_matching(session, filters, zone, found), Payment, before, found)


def export_rows(session: Session, filters: PaymentFilter, zone: str, found: Found | None = None) -> Select:
    """Return the columns the CSV export writes, for payments matching ``filters`` (unordered).

    Plain columns, not ORM objects, so reading a million rows keeps nothing in the session. The
    agreement is joined under an alias: the id search's own look-up of customer refs stays apart.
    A search needs the ids ``found`` for it (:func:`found_payments`).
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
        .where(*payment_conditions(session, filters, zone, found))
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
