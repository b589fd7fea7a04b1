"""How long the bodies of rejected notifications are kept, and how many the inbox holds.

A POST whose signature fails is stored with its verdict and headers always, but its body only
while the hour's sample has room (``REJECTED_BODIES_PER_HOUR``) and for
``REJECTED_BODY_RETENTION_DAYS``: anybody can post them, and bodies are what fill a disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from dashboard.notifications.models import UNVERIFIED
from dashboard.notifications.models import Notification
from dashboard.notifications.models import Verdict

#: Bodies emptied per statement (each one a short transaction).
PURGE_BATCH = 1_000
#: Counts shown in the inbox stop here ("10,000 or more"): the count walks an index, never the table.
COUNT_CAP = 10_000
#: The inbox's window for rejected POSTs.
RECENT = timedelta(hours=24)

#: The rejected notifications as ranges of the verdict index, which holds only them.
_REJECTED_VERDICTS = (
    Notification.verdict.in_([verdict.value for verdict in Verdict if verdict is not Verdict.VALID]),
    UNVERIFIED,
)


def purge_rejected_bodies(session: Session, now: datetime, retention_days: int) -> int:
    """Empty the bodies of rejected notifications older than the retention, oldest first, at most
    :data:`PURGE_BATCH`; keep their size. Return how many were emptied (the caller commits)."""
    due = (
        select(Notification.id)
        # The condition of the partial index ``ix_notifications_rejected_with_body``, so it is read.
        .where(UNVERIFIED, Notification.dropped_body_bytes.is_(None))
        .where(Notification.received_at < now - timedelta(days=retention_days))
        .order_by(Notification.received_at)
        .limit(PURGE_BATCH)
    )
    emptied = session.execute(
        update(Notification)
        .where(Notification.id.in_(due.scalar_subquery()))
        .values(dropped_body_bytes=func.length(Notification.body), body=b"")
        .execution_options(synchronize_session=False)
    )
    return emptied.rowcount


@dataclass(frozen=True)
class RejectedCounts:
    """Rejected POSTs received lately, and how many of them kept their body (each capped)."""

    received: int
    bodies_kept: int

    @property
    def received_capped(self) -> bool:
        """Return whether at least :data:`COUNT_CAP` came (the figure reads "or more")."""
        return self.received >= COUNT_CAP

    @property
    def kept_capped(self) -> bool:
        """Return whether at least :data:`COUNT_CAP` bodies were kept (the figure reads "or more")."""
        return self.bodies_kept >= COUNT_CAP


def recent_rejections(session: Session, now: datetime) -> RejectedCounts:
    """Count the rejected POSTs of the last 24 hours over the inbox's verdict index."""
    since = (*_REJECTED_VERDICTS, Notification.received_at >= now - RECENT)

    def capped(*conditions) -> int:
        rows = select(Notification.id).where(*since, *conditions).limit(COUNT_CAP).subquery()
        return session.scalar(select(func.count()).select_from(rows))

    return RejectedCounts(capped(), capped(Notification.dropped_body_bytes.is_(None)))
