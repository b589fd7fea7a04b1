"""Read side of agreements: filtered keyset pages, search by customer reference, one agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import AgreementStatus
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.events.queries import Timeline
from dashboard.events.queries import object_timeline
from dashboard.events.queries import staff_names
from dashboard.listing import Cursor
from dashboard.listing import Found
from dashboard.listing import IdKind
from dashboard.listing import Page
from dashboard.listing import among_found
from dashboard.listing import find_ids
from dashboard.listing import searched_page
from dashboard.listing import with_own_number
from dashboard.listing import within_days
from dashboard.payments.models import Payment
from dashboard.providers.antom.provider import ANTOM

#: How many of an agreement's payments its page lists (newest first).
RECENT_PAYMENTS = 20


#: What the agreements list shows of each agreement (and its keyset order).
LISTED_COLUMNS = (
    Agreement.id,
    Agreement.created_at,
    Agreement.customer_ref,
    Agreement.wallet,
    Agreement.status,
    Agreement.access_token_last4,
    Agreement.expires_at,
)

#: The furthest "expiring within" reaches, in days (a year: further out is not "expiring").
MAX_EXPIRING_DAYS = 366


@dataclass(frozen=True)
class AgreementFilter:
    """What the agreements list filters on; empty fields do not filter.

    Every field comes from the URL through a validated ``AgreementFilterForm``.
    """

    wallet: str | None = None
    status: str | None = None
    #: Active agreements that run out (:attr:`Agreement.expires_at`) within this many days from now.
    expiring: int | None = None
    #: A customer reference (exact or its start) or an ``authState`` (exact).
    q: str | None = None
    #: Which time ``day_from`` and ``day_to`` are of (a key of :data:`DATED`; none: when it was made).
    dated: str | None = None
    #: Days (both included, in the display time zone) it was made, or revoked or cancelled (``dated``).
    day_from: date | None = None
    day_to: date | None = None


#: The times other than its creation an agreement can be listed by, each with the one status that has it.
DATED = {
    "revoked": (Agreement.revoked_at, AgreementStatus.REVOKED),
    "cancelled": (Agreement.cancelled_at, AgreementStatus.CANCELLED_BY_CUSTOMER),
}


def _agreements_where(condition: ColumnElement[bool]) -> Select:
    return select(Agreement.id).where(condition)


#: What an agreements search finds: a customer reference whole or by its start, an exact authState
#: (and the agreement's own number, ``12`` or ``#12``).
AGREEMENT_IDS = (
    IdKind(Agreement.customer_ref, _agreements_where),
    IdKind(Agreement.auth_state, _agreements_where, by_prefix=False),
)


def found_agreements(session: Session, filters: AgreementFilter) -> Found | None:
    """Return the ids of the agreements ``filters``' search names (None: no search)."""
    if not filters.q:
        return None
    return find_ids(session, filters.q, with_own_number(filters.q, AGREEMENT_IDS, Agreement.id))


def agreements_matching(filters: AgreementFilter, found: Found | None = None) -> Select:
    """Return the select of agreements matching ``filters`` (unordered; pages add the keyset)."""
    return select(*LISTED_COLUMNS).where(*agreement_conditions(filters, found))


def agreement_conditions(filters: AgreementFilter, found: Found | None = None) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on agreements (their days in ``DISPLAY_TIMEZONE``).

    Each filter is answered by an index (see the model): wallet with or without status, status,
    and the active agreements running out before a time. One already past it, not yet expired by
    the sweeper, counts as expiring. The days it was made walk its creation index; the days it was
    revoked or cancelled, its status's (only revoked agreements have a revoke time, and so on). A
    search is answered by the ids ``found`` for it, which it needs.
    """
    conditions = []
    if filters.wallet:
        conditions.append(Agreement.wallet == filters.wallet)
    if filters.status:
        conditions.append(Agreement.status == filters.status)
    if filters.expiring:
        conditions += [
            Agreement.status == AgreementStatus.ACTIVE.value,
            Agreement.expires_at < clock.now() + timedelta(days=filters.expiring),
        ]
    dated, status = DATED.get(filters.dated or "", (Agreement.created_at, None))
    if status is not None:
        conditions.append(Agreement.status == status.value)
    conditions += within_days(dated, filters.day_from, filters.day_to, current_app.config["DISPLAY_TIMEZONE"])
    if filters.q and found is None:
        raise ValueError("a search needs the ids it names found first")
    return among_found(Agreement, found, conditions)


#: The order of the expiring agreements: what runs out soonest first (ix_agreements_status_expires_at).
SOONEST_EXPIRY = ("expires_at", "id")


def agreement_page(session: Session, filters: AgreementFilter, before: Cursor | None = None) -> Page:
    """Return one page of agreements matching ``filters`` with the next page's cursor.

    Newest first; the expiring ones soonest to run out first, which is what staff act on and what
    their expiry index reads in order (newest first would pass most active agreements: the
    soonest to run out are the oldest). Only the columns the list shows are read: its tokens stay
    encrypted (the list shows the last 4).
    """
    found = found_agreements(session, filters)
    statement = agreements_matching(filters, found)
    if filters.expiring:
        return searched_page(session, statement, Agreement, before, found, order=SOONEST_EXPIRY, soonest=True)
    return searched_page(session, statement, Agreement, before, found)


def revoke_refused(session: Session, agreement_id: int) -> bool:
    """Return True when Antom refused the latest revoke asked for ``agreement_id`` (one indexed read)."""
    latest = session.scalar(
        select(Event.kind)
        .where(
            Event.object_type == ObjectType.AGREEMENT,
            Event.object_id == str(agreement_id),
            Event.kind.in_((EventKind.REVOKE_REQUESTED, EventKind.REVOKE_FAILED)),
        )
        .order_by(Event.id.desc())
        .limit(1)
    )
    return latest == EventKind.REVOKE_FAILED


@dataclass(frozen=True)
class AgreementDetail:
    """An agreement with its recent payments and timeline, as its page shows them."""

    agreement: Agreement
    #: The newest :data:`RECENT_PAYMENTS` payments charged to it.
    payments: list[Payment]
    timeline: Timeline
    #: Who asked to revoke it (the latest request), by name.
    revoked_by: str | None
    #: Whether Antom refused the latest revoke asked for it (the agreement's result says why).
    revoke_refused: bool = False
    #: The code of the provider that holds the authorisation (whose guidance explains its codes).
    provider: str = ANTOM.code


def agreement_detail(session: Session, agreement_id: int) -> AgreementDetail | None:
    """Load one agreement with everything its page shows, or None when there is no such agreement."""
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        return None
    payments = session.scalars(
        select(Payment)
        .where(Payment.agreement_id == agreement_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(RECENT_PAYMENTS)
    )
    return AgreementDetail(
        agreement=agreement,
        payments=list(payments),
        timeline=object_timeline(session, ObjectType.AGREEMENT, agreement_id, ANTOM.code),
        revoked_by=staff_names(session, [agreement.revoked_by_id]).get(agreement.revoked_by_id),
        revoke_refused=agreement.revoke_requested_at is not None and revoke_refused(session, agreement_id),
    )
