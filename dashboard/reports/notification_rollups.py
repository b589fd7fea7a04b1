"""Notification health rollup: notifications per local day of receipt, provider, outcome and delay.

Every notification that has left the waiting line is counted once, in the bucket of its current
outcome: intake adds one it rejects or finds a duplicate in the transaction that stores it, and
processing adds a waiting one to the outcome it reaches in the transaction that records that
outcome (moving it again if it is reprocessed). Waiting notifications are never counted here: they
are counted from the inbox's outcome index when a report asks, so storing a verified first
delivery writes one row and nothing else, the cost that bounds intake on SQLite's one writer lock.
The delay from the provider's event time to our receipt is fixed at receipt; it is kept as a
bucket of a fixed geometric scale, so the median and the 95th percentile come from cumulative
counts in SQL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.notifications.models import InboxOutcome
from dashboard.notifications.models import Notification
from dashboard.reports.models import Rollup
from dashboard.reports.models import bucket_move
from dashboard.reports.models import bucket_upsert
from dashboard.reports.models import local_day
from dashboard.reports.models import move_buckets

#: Bucket 0 holds delays under this many milliseconds (and those the provider's clock puts before
#: ours); bucket ``k`` ≥ 1 holds those from ``FIRST_BOUND_MS·√2^(k-1)`` up to ``FIRST_BOUND_MS·√2^k``.
FIRST_BOUND_MS = 100
#: The last bucket holds every delay from about 3.4 days on.
LAST_BUCKET = 44
#: The bucket of a notification whose event time is unknown (the body and headers give none).
NO_DELAY = -1


class NotificationTally(Base):
    """How many notifications of one provider, received on one local day, have one outcome and delay."""

    __tablename__ = "notification_tallies"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "provider",
            "outcome",
            "delay_bucket",
            name="uq_notification_tallies_day_provider_outcome_delay_bucket",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the notifications were received, in the display time zone (``DISPLAY_TIMEZONE``).
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    #: An ``InboxOutcome`` value: what became of them so far (moves as processing goes on).
    outcome: Mapped[str] = mapped_column(String(16))
    #: Their delay from the provider's event time to receipt (:func:`delay_bucket`), or :data:`NO_DELAY`.
    delay_bucket: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return (
            f"<NotificationTally {self.day} {self.provider} {self.outcome} {self.delay_bucket} {self.count}>"
        )


def delay_bucket(event_at: datetime | None, received_at: datetime) -> int:
    """Return the bucket of the delay from ``event_at`` to ``received_at`` (:data:`NO_DELAY` without one)."""
    if event_at is None:
        return NO_DELAY
    milliseconds = (received_at - event_at) / timedelta(milliseconds=1)
    if milliseconds < FIRST_BOUND_MS:
        return 0
    return min(LAST_BUCKET, math.floor(2 * math.log2(milliseconds / FIRST_BOUND_MS)) + 1)


def bucket_bound(bucket: int) -> timedelta | None:
    """Return the delay every one in ``bucket`` is under, or None for the last, open-ended bucket."""
    if bucket >= LAST_BUCKET:
        return None
    return timedelta(milliseconds=FIRST_BOUND_MS * 2 ** (bucket / 2))


#: A tally row's key: (day, provider, outcome, delay bucket).
Bucket = tuple[date, str, str, int]


def bucket_of(provider: str, outcome: str, received_at: datetime, event_at: datetime | None) -> Bucket:
    """Return the tally bucket of a notification with these fields."""
    return local_day(received_at), provider, outcome, delay_bucket(event_at, received_at)


def _rows(moves: Iterable[tuple[Bucket, int]]) -> list[dict[str, Any]]:
    return [{**dict(zip(_KEY, bucket, strict=True)), "count": count} for bucket, count in moves]


def count_arrival(connection: Connection, row: dict[str, Any]) -> None:
    """Count a notification intake just stored (``row`` as inserted) in its bucket, unless it waits.

    Run it on the connection that inserted it, as that transaction's last statement: the bucket's
    row is then locked only for the commit. One ``INSERT … ON CONFLICT DO UPDATE``, never a read.
    """
    if row["outcome"] == WAITING:
        return
    bucket = bucket_of(row["provider"], row["outcome"], row["received_at"], row.get("event_at"))
    upsert = bucket_upsert(connection.dialect.name, NotificationTally.__table__, _KEY, ("count",))
    connection.execute(upsert, _rows([(bucket, 1)])[0])


def move_notification(session: Session, row: Notification, old_outcome: str, new_outcome: str) -> None:
    """Move ``row`` from its ``old_outcome`` bucket to its ``new_outcome`` bucket (a waiting one has none).

    Call it in the transaction that records the new outcome; inside a ``gathered_rollup_moves``
    block the buckets are written once, at its end.
    """
    if old_outcome == new_outcome:
        return
    moves = [
        bucket_move(
            NotificationTally.__table__,
            dict(zip(_KEY, bucket_of(row.provider, outcome, row.received_at, row.event_at), strict=True)),
            {"count": sign},
        )
        for outcome, sign in ((old_outcome, -1), (new_outcome, 1))
        if outcome != WAITING
    ]
    move_buckets(session, moves)


_KEY = ("day", "provider", "outcome", "delay_bucket")
#: The outcome of a notification waiting to be applied: counted from the inbox, never in the rollup.
WAITING = InboxOutcome.PENDING.value
#: The rollup as the rebuild command sees it.
NOTIFICATION_TALLIES = Rollup(NotificationTally.__table__, _KEY, ("count",))


#: Rows read at a time when recounting.
_RECOUNT_BATCH = 10_000


def recounted_notification_tallies(session: Session) -> dict[Bucket, tuple[int]]:
    """Return every bucket's count as the stored notifications make it now (a rebuild's truth).

    The local day and the delay bucket are computed here, with the functions intake uses (the
    display time zone read from the app, as intake does). Reads every notification once (streamed),
    for a rebuild, never for a page.
    """
    counts: Counter = Counter()
    columns = (Notification.provider, Notification.outcome, Notification.received_at, Notification.event_at)
    rows = session.execute(
        select(*columns).where(Notification.outcome != WAITING).execution_options(yield_per=_RECOUNT_BATCH)
    )
    for provider, outcome, received_at, event_at in rows:
        counts[bucket_of(provider, outcome, received_at, event_at)] += 1
    return {bucket: (count,) for bucket, count in counts.items()}
