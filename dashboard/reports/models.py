"""Rollups kept in step with every payment status change (DESIGN §7 report targets).

Each counts payments by their creation day in the display time zone, so its figures match the
payments list for the same created days. Every change writes one atomic upsert per bucket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import Select
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import UniqueConstraint
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.sql.elements import ColumnElement

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import deferred
from dashboard.db import written_at_end
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import PaymentStatus

#: The key columns' stand-in for "none" (a payment without a method or a result code): unique keys
#: treat NULLs as distinct, so a NULL key would never meet its bucket.
NONE = ""


class DailyTotal(Base):
    """How many payments, and how much, of one provider, status and currency, created on one local day."""

    __tablename__ = "daily_totals"
    __table_args__ = (
        UniqueConstraint(
            "day", "provider", "status", "currency", name="uq_daily_totals_day_provider_status_currency"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the payments were created, in the display time zone (``DISPLAY_TIMEZONE``).
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    #: A payment status value.
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: Number of payments in this bucket now (moves with each status change).
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: Their total amount in minor units of ``currency``.
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<DailyTotal {self.day} {self.provider} {self.status} {self.currency} {self.count}>"


#: Statuses of a payment the customer paid (whatever happened to the money since).
PAID_STATUSES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.SETTLED, PaymentStatus.DISPUTED, PaymentStatus.CHARGED_BACK}
)


class DailyWallet(Base):
    """How many payments of one provider, currency and wallet created on one local day have a final
    status, and how many of those were paid: the success rate by wallet.

    Its own rollup rather than a wallet column in :class:`DailyTotal`: counting outcomes, not
    statuses, it has a fraction of the rows, and a payment moves in it only when it finishes or stops
    being paid, by one upsert of one bucket.
    """

    __tablename__ = "daily_wallets"
    __table_args__ = (
        UniqueConstraint(
            "day", "provider", "currency", "wallet", name="uq_daily_wallets_day_provider_currency_wallet"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the payments were created, in the display time zone.
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: The payment method in capitals (Antom's ALIPAY_HK and Worldpay's alipay_hk are one wallet);
    #: ``""`` when unknown.
    wallet: Mapped[str] = mapped_column(String(32))
    #: Payments with a final status (neither pending nor processing).
    finished: Mapped[int] = mapped_column(Integer, default=0)
    #: Of those, the payments paid (:data:`PAID_STATUSES`).
    paid: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        wallet = f"{self.provider} {self.currency} {self.wallet!r}"
        return f"<DailyWallet {self.day} {wallet} {self.paid} paid of {self.finished}>"


class DailyFailure(Base):
    """How many payments, and how much, created on one local day are failed now with one result code."""

    __tablename__ = "daily_failures"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "provider",
            "currency",
            "result_code",
            name="uq_daily_failures_day_provider_currency_result_code",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the payments were created, in the display time zone.
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: The result code the failed payments hold (as stored on them); ``""`` when none was given.
    result_code: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: Their total amount in minor units of ``currency``.
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return f"<DailyFailure {self.day} {self.provider} {self.currency} {self.result_code!r} {self.count}>"


#: Upper bounds (seconds, included) of the time-to-final buckets: the 1-2-5 series, a fixed geometric
#: scale; the last one catches everything longer.
FINISH_BOUNDS = (
    *(mantissa * 10**power for power in range(6) for mantissa in (1, 2, 5)),
    10**6,
    10**9,
)


class FinishTime(Base):
    """How many payments created on one local day took up to ``up_to_seconds`` to reach a final status.

    A histogram on :data:`FINISH_BOUNDS`: a bucket holds the payments that took more than the
    bound below it and at most its own (whole seconds, from the second of creation to the second
    the back office recorded the final status).
    """

    __tablename__ = "finish_times"
    __table_args__ = (
        UniqueConstraint(
            "day",
            "provider",
            "currency",
            "up_to_seconds",
            name="uq_finish_times_day_provider_currency_up_to_seconds",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The date the payments were created, in the display time zone.
    day: Mapped[date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    #: The bucket's upper bound, one of :data:`FINISH_BOUNDS`.
    up_to_seconds: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<FinishTime {self.day} {self.provider} {self.currency} ≤{self.up_to_seconds}s {self.count}>"


@dataclass(frozen=True)
class Rollup:
    """A rollup table: the columns that name a bucket and those a move adds to."""

    table: Table
    key: tuple[str, ...]
    sums: tuple[str, ...]


DAILY_TOTALS = Rollup(
    DailyTotal.__table__, ("day", "provider", "status", "currency"), ("count", "amount_minor")
)
DAILY_WALLETS = Rollup(DailyWallet.__table__, ("day", "provider", "currency", "wallet"), ("finished", "paid"))
DAILY_FAILURES = Rollup(
    DailyFailure.__table__, ("day", "provider", "currency", "result_code"), ("count", "amount_minor")
)
FINISH_TIMES = Rollup(FinishTime.__table__, ("day", "provider", "currency", "up_to_seconds"), ("count",))

#: Where epoch seconds count from.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_seconds(moment: datetime) -> int:
    """Return the whole seconds from 1970 to ``moment`` (rounded down), as the databases compute them."""
    return (moment - EPOCH) // timedelta(seconds=1)


def finish_bucket(seconds: int) -> int:
    """Return the upper bound of the :data:`FINISH_BOUNDS` bucket that holds ``seconds``."""
    return next((bound for bound in FINISH_BOUNDS if seconds <= bound), FINISH_BOUNDS[-1])


def is_finished(status: str | None) -> bool:
    """Return whether ``status`` is a final one (neither pending nor processing; None: not created yet)."""
    return status is not None and PaymentStatus(status) not in OPEN_PAYMENT


def is_paid(status: str | None) -> bool:
    """Return whether ``status`` is one of :data:`PAID_STATUSES`."""
    return status is not None and PaymentStatus(status) in PAID_STATUSES


def local_day(moment: datetime) -> date:
    """Return the date of an aware datetime in the display time zone, where the merchant's days begin."""
    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def summed(column) -> ColumnElement[int]:
    """Return ``SUM(column)`` as a whole number on both databases (PostgreSQL sums BIGINT as NUMERIC)."""
    return cast(func.sum(column), BigInteger)


#: Each shape of bucket upsert, built once: executed with a bucket's values as parameters, it is
#: compiled once too (building the statement anew per bucket cost about ten times its execution).
_UPSERTS: dict[tuple, Any] = {}


def bucket_upsert(
    dialect: str, table: Table, key: tuple[str, ...], added: tuple[str, ...], at_least: tuple[str, ...] = ()
) -> Any:
    """Return the ``INSERT … ON CONFLICT DO UPDATE`` adding to one bucket of ``table``.

    Executed with the values of the ``key`` columns, the ``added`` sums and the ``at_least`` values.
    """
    shape = (dialect, table.name, key, added, at_least)
    if shape not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - only the two supported databases
            raise NotImplementedError(f"no upsert for {dialect}")
        statement = insert(table)
        excluded = statement.excluded
        changes = {name: table.c[name] + excluded[name] for name in added}
        changes |= {
            name: case((excluded[name] > table.c[name], excluded[name]), else_=table.c[name])
            for name in at_least
        }
        _UPSERTS[shape] = statement.on_conflict_do_update(index_elements=list(key), set_=changes)
    return _UPSERTS[shape]


def add_to_bucket(
    session: Session,
    table: Table,
    bucket: Mapping[str, Any],
    added: Mapping[str, int],
    *,
    at_least: Mapping[str, int] | None = None,
) -> None:
    """Add ``added`` to the sums of one rollup ``bucket`` (creating it), in one atomic upsert.

    ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), so two writers never lose a count
    and no row has to be read or locked first.

    :param bucket: the values of the columns of ``table``'s unique key
    :param at_least: columns that keep the greater of their value and the one given (a longest wait)
    """
    greatest = dict(at_least or {})
    dialect = session.get_bind().dialect.name
    statement = bucket_upsert(dialect, table, tuple(bucket), tuple(added), tuple(greatest))
    session.execute(statement, {**bucket, **added, **greatest})


@dataclass(frozen=True)
class BucketMove:
    """Sums to add to one bucket of a rollup (and values it keeps at least), written later or now."""

    table: Table
    #: The bucket's unique key, as ``(column, value)`` pairs in the key's column order.
    bucket: tuple[tuple[str, Any], ...]
    #: ``(column, amount)`` pairs added to the bucket's sums.
    added: tuple[tuple[str, int], ...]
    #: ``(column, value)`` pairs the bucket keeps the greater of (see :func:`add_to_bucket`).
    at_least: tuple[tuple[str, int], ...] = ()


def bucket_move(
    table: Table,
    bucket: Mapping[str, Any],
    added: Mapping[str, int],
    at_least: Mapping[str, int] | None = None,
) -> BucketMove:
    """Return a :class:`BucketMove` of ``table`` (the arguments as :func:`add_to_bucket` takes them)."""
    return BucketMove(table, tuple(bucket.items()), tuple(added.items()), tuple((at_least or {}).items()))


def move_buckets(session: Session, moves: list[BucketMove]) -> None:
    """Write rollup ``moves`` now, or at the end of the :func:`gathered_rollup_moves` block around us."""
    gathering = deferred(session, _ROLLUP_MOVES)
    if gathering is None:
        _write_moves(session, moves)
    else:
        gathering.extend(moves)


def move_in_rollup(
    session: Session,
    payment,
    old_status: str | None,
    new_status: str | None,
    *,
    old_code: str | None = None,
    new_code: str | None = None,
) -> None:
    """Move ``payment`` from the buckets of its old standing to those of its new one.

    Call it in the transaction that changes the status (``old_status=None`` for a new payment) or,
    for a failed payment, its result code, inside an app context: the buckets' day is the payment's
    creation date in ``DISPLAY_TIMEZONE``. One atomic upsert per bucket (:func:`add_to_bucket`). A
    payment entering a final status with its ``finished_at`` set joins its time-to-final bucket.

    :param payment: anything with ``created_at``, ``provider``, ``currency``, ``amount_minor``,
        ``payment_method`` and ``finished_at``
    :param old_code: the result code the payment held before the change (counts only if failed)
    :param new_code: the result code it holds after
    """
    if old_status == new_status and (new_status != PaymentStatus.FAILED or old_code == new_code):
        return
    created = payment.created_at or clock.now()
    bucket = {"day": local_day(created), "provider": payment.provider, "currency": payment.currency}
    moves = []
    for status, code, sign in ((old_status, old_code, -1), (new_status, new_code, 1)):
        if status is None:
            continue
        money = {"count": sign, "amount_minor": sign * payment.amount_minor}
        if old_status != new_status:
            moves.append(bucket_move(DailyTotal.__table__, {**bucket, "status": str(status)}, money))
        if status == PaymentStatus.FAILED:
            moves.append(bucket_move(DailyFailure.__table__, {**bucket, "result_code": code or NONE}, money))
    finished = int(is_finished(new_status)) - int(is_finished(old_status))
    paid = int(is_paid(new_status)) - int(is_paid(old_status))
    if finished or paid:
        wallet = (payment.payment_method or NONE).upper()
        moves.append(
            bucket_move(
                DailyWallet.__table__, {**bucket, "wallet": wallet}, {"finished": finished, "paid": paid}
            )
        )
    if payment.finished_at is not None and finished > 0:
        seconds = epoch_seconds(payment.finished_at) - epoch_seconds(created)
        moves.append(
            bucket_move(
                FinishTime.__table__, {**bucket, "up_to_seconds": finish_bucket(seconds)}, {"count": 1}
            )
        )
    move_buckets(session, moves)


_ROLLUP_MOVES = "rollup_moves"


def _write_moves(session: Session, moves: list[BucketMove]) -> None:
    added: dict[tuple, Counter] = {}
    kept: dict[tuple, dict[str, int]] = {}
    tables: dict[str, Table] = {}
    for move in moves:
        key = (move.table.name, move.bucket)
        tables[move.table.name] = move.table
        sums = added.setdefault(key, Counter())
        sums.update(dict(move.added))
        greatest = kept.setdefault(key, {})
        for name, value in move.at_least:
            greatest[name] = max(greatest.get(name, value), value)
    # In one order, so two writers never wait on each other's buckets in a cycle.
    for key in sorted(added, key=lambda key: (key[0], tuple(value for _, value in key[1]))):
        name, bucket = key
        if any(added[key].values()) or kept[key]:
            add_to_bucket(session, tables[name], dict(bucket), dict(added[key]), at_least=kept[key])


def gathered_rollup_moves(session: Session) -> AbstractContextManager[None]:
    """Gather the rollup moves made in the block and write each bucket once, at its end.

    The buckets are then locked only from there to the commit (see :func:`written_at_end`).
    """
    return written_at_end(session, _ROLLUP_MOVES, _write_moves)


def bucket_quantiles(buckets, group) -> Select:
    """Read a histogram's median and 95th percentile in SQL, per ``group``.

    :param buckets: a subquery of a histogram's ``up_to`` (its buckets' order) and ``n`` (their counts)
    :param group: a column of ``buckets`` to read each of its values apart, or None for all together
    :return: a select of (group or NULL, total count, median bucket, p95 bucket): the first bucket
        whose cumulative count reaches half, and 95 %, of the total
    """
    window = {"partition_by": group} if group is not None else {}
    cumulative = select(
        (group if group is not None else null()).label("grouped_by"),
        buckets.c.up_to,
        func.sum(buckets.c.n).over(order_by=buckets.c.up_to, **window).label("reached"),
        func.sum(buckets.c.n).over(**window).label("total"),
    ).subquery()
    reached, total, up_to = cumulative.c.reached, cumulative.c.total, cumulative.c.up_to
    return select(
        cumulative.c.grouped_by,
        func.max(total),
        func.min(case((2 * reached >= total, up_to))),
        func.min(case((100 * reached >= 95 * total, up_to))),
    ).group_by(cumulative.c.grouped_by)
