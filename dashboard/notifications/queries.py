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
from sqlalchemy import union
from sqlalchemy.orm import Session
from sqlalchemy.orm import defer

from dashboard.events.kinds import ObjectType
from dashboard.events.models import Event
from dashboard.listing import Cursor
from dashboard.listing import newest_first
from dashboard.listing import starts_with
from dashboard.listing import within_days
from dashboard.notifications.models import Notification
from dashboard.providers.base import SECRET_FIELDS
from dashboard.providers.base import mask
from dashboard.providers.base import mask_secret_fields

#: A search prefix that more references start with than this is too broad to sort: exact matches only.
PREFIX_LIMIT = 500
#: How many of a notification's duplicates its page lists (the oldest).
DUPLICATES_SHOWN = 20
#: What a notification may be linked to; the object index leads with the type, so search names them.
LINKED_TYPES = (ObjectType.PAYMENT, ObjectType.AGREEMENT)
#: Largest id the search tries as a notification id (BIGINT).
_MAX_ID = 2**63 - 1

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


@dataclass(frozen=True)
class InboxPage:
    """One page of the inbox."""

    rows: list[Notification]
    #: Where the next (older) page starts (the last row's id); None on the last page.
    next_cursor: Cursor | None
    #: The search was too short a prefix of too many references: only exact matches are listed.
    prefix_too_broad: bool = False


def notification_page(
    session: Session, filters: NotificationFilter, zone: str, before: Cursor | None = None
) -> InboxPage:
    """Return up to one page of notifications received before ``before``'s row, with the next cursor.

    Newest first by (received_at, id), on ``ix_notifications_received_at_id``; the cursor is the
    last row's id, whose ``received_at`` is read in the same statement.
    """
    query = select(Notification).options(defer(Notification.body), defer(Notification.headers))
    for name in ("provider", "kind", "verdict", "outcome"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(Notification, name) == value)
    query = query.where(*within_days(Notification.received_at, filters.day_from, filters.day_to, zone))
    q = (filters.q or "").strip()
    too_broad = bool(q) and _prefix_too_broad(session, q)
    if q:
        query = query.where(Notification.id.in_(_ids_matching(q, prefix=not too_broad)))
    rows, next_cursor = newest_first(
        session, query, Notification, before, order=("received_at", "id"), timed=False
    )
    return InboxPage(rows, next_cursor, too_broad)


def _prefix_too_broad(session: Session, q: str) -> bool:
    """Return True when more than ``PREFIX_LIMIT`` references start with ``q`` (reads at most one more)."""
    probe = select(Notification.id).where(starts_with(Notification.reference, q)).limit(PREFIX_LIMIT + 1)
    return len(session.scalars(probe).all()) > PREFIX_LIMIT


def _ids_matching(q: str, *, prefix: bool) -> Select:
    """Return the ids of notifications ``q`` names, each branch one index lookup (never ``%q%``).

    ``q`` is a reference (paymentId, transactionReference, refundId, authState; with ``prefix`` also
    its beginning), a whole dedup key (Worldpay eventId, Antom ``PAYMENT_RESULT:<paymentId>:S``), a
    linked object's id, or a notification id (``123`` or ``#123``).
    """
    # starts_with is an index range, never LIKE: see dashboard.listing.
    reference = starts_with(Notification.reference, q) if prefix else Notification.reference == q
    branches = [
        select(Notification.id).where(reference),
        select(Notification.id).where(Notification.dedup_key == q),
        select(Notification.id).where(
            Notification.object_type.in_(LINKED_TYPES), Notification.object_id == q
        ),
    ]
    number = q.removeprefix("#")
    if number.isascii() and number.isdigit() and int(number) <= _MAX_ID:
        branches.append(select(Notification.id).where(Notification.id == int(number)))
    return union(*branches)


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
    """Return the body for display: JSON pretty-printed, secret fields masked even when it is not JSON."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return _SECRET_IN_TEXT.sub(lambda match: match.group(1) + mask(match.group(2)), text)
    return json.dumps(mask_secret_fields(data), indent=2, ensure_ascii=False)
