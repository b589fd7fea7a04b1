"""Read side of the audit log: filtered keyset pages, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.audit.models import AuditLog
from dashboard.listing import within_days

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page filters on; empty fields do not filter."""

    action: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    day_from: date | None = None
    day_to: date | None = None


def audit_page(
    session: Session, filters: AuditFilter, zone: str, before_seq: int | None = None
) -> tuple[list[AuditLog], int | None]:
    """Return up to one page of entries older than ``before_seq`` and the cursor for the next."""
    query = select(AuditLog).order_by(AuditLog.seq.desc()).limit(PAGE_SIZE + 1)
    if before_seq is not None:
        query = query.where(AuditLog.seq < before_seq)
    if filters.action:
        query = query.where(AuditLog.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        query = query.where(AuditLog.actor_label == filters.actor.strip().lower())
    if filters.object_type:
        query = query.where(AuditLog.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditLog.object_id == filters.object_id)
    query = query.where(*within_days(AuditLog.created_at, filters.day_from, filters.day_to, zone))
    rows = list(session.scalars(query))
    next_cursor = rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], next_cursor
