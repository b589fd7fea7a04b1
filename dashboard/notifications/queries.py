"""Read side of the notifications inbox: filtered keyset pages, search by id, one notification in full."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnElement

from dashboard.db import checked_on_rows
from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.listing import Cursor
from dashboard.listing import Found
from dashboard.listing import IdKind
from dashboard.listing import Page
from dashboard.listing import among_found
from dashboard.listing import find_ids
from dashboard.listing import searched_page
from dashboard.listing import with_own_number
from dashboard.listing import within_days
from dashboard.notifications.models import UNVERIFIED
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.providers.base import SECRET_FIELDS
from dashboard.providers.base import mask
from dashboard.providers.base import mask_secret_fields
from dashboard.providers.base import parse_json
from dashboard.providers.entry import Verdict

#: How many of a notification's duplicates its page lists (the oldest).
DUPLICATES_SHOWN = 20
#: What a notification may be linked to; the object index leads with the type, so search names them.
LINKED_TYPES = (ObjectType.PAYMENT, ObjectType.AGREEMENT)

#: Long base64/hex runs inside signature headers, shown as their first 8 and last 4 characters.
_LONG_RUN = re.compile(r"[A-Za-z0-9+_%-]{24,}={0,2}")
#: A secret field inside a body that is not valid JSON (``"accessToken": "…"``), masked all the same.
_SECRET_IN_TEXT = re.compile(rf'("(?:{"|".join(sorted(SECRET_FIELDS))})"\s*:\s*")([^"]*)')


@dataclass(frozen=True)
class NotificationFilter:
    """What the inbox filters on; empty fields do not filter."""

    provider: str | None = None
    kind: str | None = None
    verdict: str | None = None
    outcome: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    q: str | None = None


#: What the inbox shows of each notification.
LISTED_COLUMNS = (
    Notification.id,
    Notification.received_at,
    Notification.provider,
    Notification.kind,
    Notification.reference,
    Notification.object_type,
    Notification.object_id,
    Notification.verdict,
    Notification.outcome,
    Notification.duplicate_of_id,
    Notification.processing_error,
    Notification.attempts,
)


def found_notifications(session: Session, filters: NotificationFilter) -> Found | None:
    """Return the ids of the notifications ``filters``' search names (None: no search)."""
    q = (filters.q or "").strip()
    return find_ids(session, q, with_own_number(q, NOTIFICATION_IDS, Notification.id)) if q else None


def notification_conditions(
    filters: NotificationFilter, zone: str, found: Found | None
) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on notifications, kept to the ids ``found`` by its search
    (:func:`found_notifications`); the page and its "N new" bar share them."""
    conditions = [
        getattr(Notification, name) == getattr(filters, name)
        for name in ("kind", "verdict", "outcome")
        if getattr(filters, name)
    ]
    unverified = filters.verdict not in (None, "", Verdict.VALID)
    if unverified:
        conditions.append(UNVERIFIED)  # so the verdict index, which holds only these, is read
    if filters.provider:
        provider = Notification.provider == filters.provider
        # A kind, a verdict other than valid or an outcome other than applied names fewer
        # notifications than a provider: that index is walked and the provider checked on its rows.
        narrower = filters.kind or unverified or filters.outcome not in (None, "", InboxOutcome.APPLIED)
        conditions.append(checked_on_rows(provider) if narrower else provider)
    conditions += within_days(Notification.received_at, filters.day_from, filters.day_to, zone)
    return among_found(Notification, found, conditions)


def notification_page(
    session: Session, filters: NotificationFilter, zone: str, before: Cursor | None = None
) -> Page:
    """Return up to one page of notifications received before ``before``'s row, with the next cursor.

    Newest first by (received_at, id), each filter on its own index that ends in them; a search is
    answered by the ids it names. The cursor is the last row's id, whose ``received_at`` is read in
    the same statement.
    """
    found = found_notifications(session, filters)
    query = select(*LISTED_COLUMNS).where(*notification_conditions(filters, zone, found))
    return searched_page(
        session, query, Notification, before, found, order=("received_at", "id"), timed=False
    )


def _notifications_where(condition: ColumnElement[bool]) -> Select:
    return select(Notification.id).where(condition)


def _linked_where(condition: ColumnElement[bool]) -> Select:
    # The object index leads with the type.
    return select(Notification.id).where(Notification.object_type.in_(LINKED_TYPES), condition)


#: The ids a search finds in the inbox (besides a notification's own number, ``123`` or ``#123``),
#: each one index lookup, never ``%q%``: a reference (paymentId, transactionReference, refundId,
#: authState) whole or by its start; a whole dedup key (Worldpay eventId, Antom
#: ``PAYMENT_RESULT:<paymentId>:S``); the id of a linked payment or agreement.
NOTIFICATION_IDS = (
    IdKind(Notification.reference, _notifications_where),
    IdKind(Notification.dedup_key, _notifications_where, by_prefix=False),
    IdKind(Notification.object_id, _linked_where, by_prefix=False),
)


@dataclass(frozen=True)
class NotificationDetail:
    """One notification with what staff need to judge it (secrets redacted)."""

    notification: Notification
    #: Redeliveries stored as duplicates of this one, the first :data:`DUPLICATES_SHOWN`, oldest first.
    duplicates: list[Notification]
    #: The timeline events this notification caused, oldest first.
    events: list[Event]
    #: The kept headers, signature values shortened.
    headers: dict[str, str]
    #: The body pretty-printed when it is JSON, with secret fields masked.
    body: str
    #: How many more duplicates there are than are listed (anyone may post copies of a body).
    more_duplicates: int = 0


def notification_detail(session: Session, notification_id: int) -> NotificationDetail | None:
    """Return notification ``notification_id`` in full, or None when there is none."""
    row = session.get(Notification, notification_id)
    if row is None:
        return None
    duplicates = session.scalars(
        select(Notification)
        .options(defer(Notification.body), defer(Notification.headers))
        .where(Notification.duplicate_of_id == row.id)
        .order_by(Notification.id)
        .limit(DUPLICATES_SHOWN + 1)
    ).all()
    more = 0
    if len(duplicates) > DUPLICATES_SHOWN:
        every = select(func.count()).where(Notification.duplicate_of_id == row.id)
        more = session.scalar(every) - DUPLICATES_SHOWN
    events = session.scalars(select(Event).where(Event.notification_id == row.id).order_by(Event.id)).all()
    return NotificationDetail(
        row,
        list(duplicates[:DUPLICATES_SHOWN]),
        list(events),
        shown_headers(row.headers),
        shown_body(row.body),
        more_duplicates=more,
    )


def shown_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """Return the headers for display; long runs in signature values keep only their ends."""
    return {
        name: _LONG_RUN.sub(_shorten, str(value)) if "signature" in name.lower() else str(value)
        for name, value in headers.items()
    }


def _shorten(match: re.Match[str]) -> str:
    run = match.group(0)
    return f"{run[:8]}…{run[-4:]}"


def shown_body(body: bytes) -> str:
    """Return the body for display: JSON pretty-printed, secret fields masked even when it is not JSON.

    JSON nested too deep to walk (masking and indenting recurse once per level) is shown as text.
    """
    text = body.decode("utf-8", "replace")
    try:
        return json.dumps(mask_secret_fields(parse_json(text)), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return _SECRET_IN_TEXT.sub(lambda match: match.group(1) + mask(match.group(2)), text)
