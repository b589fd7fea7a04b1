"""Refund rollups kept in step with every refund status change and approval decision.

Each refund counts in one :class:`RefundDailyTotal` bucket, by the local day it was asked for, and
moves between buckets as its status changes (like payments in ``DailyTotal``); each decision on a
refund that waited for approval adds its wait to a :class:`RefundApprovalWait` bucket. Both are
written in the transaction that makes the change, one atomic upsert per bucket.
"""

from __future__ import annotations

import bisect
from datetime import date
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import RefundStatus
from dashboard.reports.models import bucket_move
from dashboard.reports.models import local_day
from dashboard.reports.models import move_buckets

#: Where each approval-wait bucket starts, in seconds: under a minute, 1-5 min, 5-15 min, 15-30 min,
#: 30-60 min, 1-2 h, 2-4 h, 4-8 h, 8-24 h, 1-2 days, 2-7 days, a week or more.
WAIT_BUCKETS = (0, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)


class RefundDailyTotal(Base):
    """How many refunds, and how much, of one provider, status, currency, reason and failure code,
    asked for on one local day."""

    __tablename__ = "refund_daily_totals"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "provider",
            "status",
            "currency",
            "reason",
            "result_code",
            name="uq_refund_daily_totals_bucket",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the refunds were asked for, in the display time zone (``DISPLAY_TIMEZONE``).
    day: Mapped[date] = mapped_column(Date)
    #: The provider of the refunded payment.
    provider: Mapped[str] = mapped_column(String(16))
    #: A refund status value.
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    #: The reason staff chose; empty when none was given (a refund learnt from the provider).
    reason: Mapped[str] = mapped_column(String(256))
    #: The provider's code of a failed refund; empty for every other status.
    result_code: Mapped[str] = mapped_column(String(64))
    #: Number of refunds in this bucket now (moves with each status change).
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: Their total amount in minor units of ``currency``.
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<RefundDailyTotal {self.day} {self.provider} {self.status} {self.currency} {self.count}>"


class RefundApprovalWait(Base):
    """How many decided refunds of one provider and currency, asked for on one local day, waited for
    a manager's decision a time within one bucket of :data:`WAIT_BUCKETS`, and the longest wait."""

    __tablename__ = "refund_approval_waits"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "provider",
            "currency",
            "from_seconds",
            name="uq_refund_approval_waits_bucket",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the refunds were asked for, in the display time zone.
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: Where the bucket starts (one of :data:`WAIT_BUCKETS`); it ends where the next one starts.
    from_seconds: Mapped[int] = mapped_column(Integer)
    #: Decisions whose wait falls in the bucket.
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: The longest of those waits, in whole seconds.
    longest_seconds: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        bucket = f"{self.day} {self.provider} {self.currency} from {self.from_seconds} s"
        return f"<RefundApprovalWait {bucket} {self.count}>"


class RefundStanding(NamedTuple):
    """What of a refund decides its :class:`RefundDailyTotal` bucket besides its day and money."""

    status: str
    #: The failure code (empty unless the refund failed).
    result_code: str


def _standing(status: str, result_code: str | None) -> RefundStanding:
    failed = status == RefundStatus.FAILED
    return RefundStanding(str(status), (result_code or "") if failed else "")


def standing(refund: Refund) -> RefundStanding:
    """Return ``refund``'s standing now; take it before a change to move the refund out of it after."""
    return _standing(refund.status, refund.result_code)


def _total_bucket(
    day: date, provider: str, currency: str, reason: str | None, standing: RefundStanding
) -> dict:
    return {
        "day": day,
        "provider": provider,
        "status": standing.status,
        "currency": currency,
        "reason": reason or "",
        "result_code": standing.result_code,
    }


def move_refund_in_rollup(
    session: Session, refund: Refund, provider: str, before: RefundStanding | None
) -> None:
    """Move ``refund`` from the bucket of its standing ``before`` (None: a new refund) to its own now.

    Call it in the transaction that adds or changes the refund, inside an app context (the day is
    the refund's creation date in ``DISPLAY_TIMEZONE``); inside :func:`gathered_rollup_moves
    <dashboard.reports.models.gathered_rollup_moves>` the buckets are written at the block's end.

    :param provider: the provider of the refunded payment
    """
    after = standing(refund)
    if after == before:
        return
    day = local_day(refund.created_at or clock.now())
    moves = [(after, 1)] + ([(before, -1)] if before is not None else [])
    move_buckets(
        session,
        [
            bucket_move(
                RefundDailyTotal.__table__,
                _total_bucket(day, provider, refund.currency, refund.reason, side),
                {"count": sign, "amount_minor": sign * refund.amount_minor},
            )
            for side, sign in moves
        ],
    )


def wait_bucket(seconds: int) -> int:
    """Return where the :data:`WAIT_BUCKETS` bucket holding a wait of ``seconds`` starts."""
    return WAIT_BUCKETS[bisect.bisect_right(WAIT_BUCKETS, max(seconds, 0)) - 1]


def _wait_seconds(asked: datetime, decided: datetime) -> int:
    return max(int((decided - asked).total_seconds()), 0)


def count_approval_wait(session: Session, refund: Refund, provider: str) -> None:
    """Count the wait of ``refund`` from its request to a manager's decision (``decided_at``).

    Call it once, in the transaction that records the decision (written as :func:`move_refund_in_rollup`).
    """
    seconds = _wait_seconds(refund.created_at, refund.decided_at)
    bucket = {
        "day": local_day(refund.created_at),
        "provider": provider,
        "currency": refund.currency,
        "from_seconds": wait_bucket(seconds),
    }
    move_buckets(
        session,
        [
            bucket_move(
                RefundApprovalWait.__table__, bucket, {"count": 1}, at_least={"longest_seconds": seconds}
            )
        ],
    )


# --- rebuilding from the refunds -------------------------------------------------------------------

#: A rollup's rows by bucket (its unique key's values in column order): its sums in column order.
Rows = dict[tuple, tuple[int, int]]


def recounted_refund_rollups(session: Session) -> dict[str, Rows]:
    """Return the refund rollups as the refunds make them now, by table name (a rebuild's truth).

    Reads every refund once (streamed), for a rebuild, never for a page.
    """
    totals: dict[tuple, list[int]] = {}
    waits: dict[tuple, list[int]] = {}
    refunds = select(
        Refund.created_at,
        Payment.provider,
        Refund.currency,
        Refund.reason,
        Refund.status,
        Refund.result_code,
        Refund.amount_minor,
        Refund.decided_at,
    ).join(Payment, Payment.id == Refund.payment_id)
    for asked, provider, currency, reason, status, code, amount, decided in session.execute(
        refunds.execution_options(yield_per=5000)
    ):
        day = local_day(asked)
        bucket = tuple(_total_bucket(day, provider, currency, reason, _standing(status, code)).values())
        sums = totals.setdefault(bucket, [0, 0])
        sums[0], sums[1] = sums[0] + 1, sums[1] + amount
        if decided is not None:
            seconds = _wait_seconds(asked, decided)
            wait = waits.setdefault((day, provider, currency, wait_bucket(seconds)), [0, 0])
            wait[0], wait[1] = wait[0] + 1, max(wait[1], seconds)
    return {
        RefundDailyTotal.__tablename__: {bucket: tuple(sums) for bucket, sums in totals.items()},
        RefundApprovalWait.__tablename__: {bucket: tuple(sums) for bucket, sums in waits.items()},
    }


#: Each refund rollup's bucket columns and sum columns, by table name.
_SHAPES = {
    RefundDailyTotal.__tablename__: (
        RefundDailyTotal,
        ("day", "provider", "status", "currency", "reason", "result_code"),
        ("count", "amount_minor"),
    ),
    RefundApprovalWait.__tablename__: (
        RefundApprovalWait,
        ("day", "provider", "currency", "from_seconds"),
        ("count", "longest_seconds"),
    ),
}


def kept_refund_rollups(session: Session) -> dict[str, Rows]:
    """Return the refund rollups as they are kept, by table name (empty buckets left out)."""
    kept = {}
    for name, (model, bucket, sums) in _SHAPES.items():
        columns = [getattr(model, column) for column in (*bucket, *sums)]
        rows = session.execute(select(*columns).where(model.count != 0))
        kept[name] = {tuple(row[: len(bucket)]): tuple(row[len(bucket) :]) for row in rows}
    return kept


def rollup_differences(kept: dict[str, Rows], truth: dict[str, Rows]) -> list[str]:
    """Return what differs between ``kept`` rollups and the ``truth``, a line per bucket."""
    lines = []
    for name in truth:
        for bucket in sorted(kept[name].keys() | truth[name].keys(), key=str):
            has, should = kept[name].get(bucket), truth[name].get(bucket)
            if has != should:
                lines.append(f"{name} {bucket}: kept {has}, recounted {should}")
    return lines


def rebuild_refund_rollups(session: Session) -> list[str]:
    """Recount the refund rollups from the refunds, replace the kept ones, and return what differed.

    Run it in a write transaction (nothing may change refunds meanwhile); the caller commits.
    """
    truth = recounted_refund_rollups(session)
    differences = rollup_differences(kept_refund_rollups(session), truth)
    for name, (model, bucket, sums) in _SHAPES.items():
        session.execute(delete(model))
        rows = [
            dict(zip((*bucket, *sums), (*key, *values), strict=True)) for key, values in truth[name].items()
        ]
        if rows:
            session.execute(model.__table__.insert(), rows)
    return differences
