"""The ``Event`` table: every change to a payment, refund, cancel or agreement (DESIGN §6, §8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime


class Event(Base):
    """One change, in commit order by ``id``: the object's timeline and the pages' live feed.

    Ids come from a sequence (PostgreSQL) or the rowid with AUTOINCREMENT (SQLite, so an id is
    never reused); on PostgreSQL they may commit out of order, which is why pollers re-read a
    short window behind their cursor.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_object_type_object_id_id", "object_type", "object_id", "id"),
        # "N new payments" bars: the newest events of one object type after a cursor.
        Index("ix_events_object_type_id", "object_type", "id"),
        # What one notification changed (the inbox detail page).
        Index("ix_events_notification_id", "notification_id"),
        {"sqlite_autoincrement": True},
    )

    #: Monotonic cursor for live updates.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: ``payment``, ``refund``, ``cancel``, ``agreement`` …
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    #: What happened: ``status_changed``, ``created``, ``provider_call``, ``notification_late`` …
    kind: Mapped[str] = mapped_column(String(64))
    #: What changed, secrets redacted (e.g. ``{"status": ["pending", "succeeded"]}`` or a call record).
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The notification that caused it, if any.
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    #: The staff member who caused it, if any (None for providers and jobs).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.object_type}:{self.object_id} {self.kind}>"
