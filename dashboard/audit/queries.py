"""Read side of the audit log: filtered keyset pages, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard.audit.models import AuditLog
from dashboard.listing import Cursor
from dashboard.listing import in_page_order_when_many
from dashboard.listing import newest_first
from dashboard.listing import starts_with
from dashboard.listing import within_days


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page filters on; empty fields do not filter."""

    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    day_from: date | None = None
    day_to: date | None = None


#: What the audit log shows of each entry.
LISTED_COLUMNS = (
    AuditLog.seq,
    AuditLog.created_at,
    AuditLog.actor_label,
    AuditLog.action,
    AuditLog.object_type,
    AuditLog.object_id,
    AuditLog.ip,
    AuditLog.before,
    AuditLog.after,
)


def audit_conditions(session: Session, filters: AuditFilter, zone: str) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on audit entries (the page and its "N new" bar share them)."""
    conditions = []
    if filters.action:
        conditions.append(
            in_page_order_when_many(session, AuditLog, starts_with(AuditLog.action, filters.action))
        )
    if filters.actor:
        conditions.append(AuditLog.actor_label == filters.actor.strip().lower())
    if filters.object_type:
        conditions.append(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(AuditLog.object_id == filters.object_id)
    return conditions + within_days(AuditLog.created_at, filters.day_from, filters.day_to, zone)


def audit_page(
    session: Session, filters: AuditFilter, zone: str, before: Cursor | None = None
) -> tuple[Sequence[Row], Cursor | None]:
    """Return up to one page of entries older than ``before`` (by chain position) and the next cursor."""
    query = select(*LISTED_COLUMNS).where(*audit_conditions(session, filters, zone))
    return newest_first(session, query, AuditLog, before, order=("seq",))
