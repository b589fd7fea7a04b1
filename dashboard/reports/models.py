"""Daily rollups kept in step with every payment status change (DESIGN §7 report targets)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import UniqueConstraint
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.sql.elements import ColumnElement

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import deferred
from dashboard.db import written_at_end


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


def local_day(moment: datetime) -> date:
    """Return the date of an aware datetime in the display time zone, where the merchant's days begin."""
    return moment.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()


def summed(column) -> ColumnElement[int]:
    """Return ``SUM(column)`` as a whole number on both databases (PostgreSQL sums BIGINT as NUMERIC)."""
    return cast(func.sum(column), BigInteger)


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
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise NotImplementedError(f"no upsert for {dialect}")
    greatest = dict(at_least or {})
    statement = insert(table).values(**bucket, **added, **greatest)
    changes = {name: table.c[name] + statement.excluded[name] for name in added}
    changes |= {
        name: case((statement.excluded[name] > table.c[name], statement.excluded[name]), else_=table.c[name])
        for name in greatest
    }
    session.execute(statement.on_conflict_do_update(index_elements=list(bucket), set_=changes))


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


def move_in_rollup(session: Session, payment, old_status: str | None, new_status: str | None) -> None:
    """Move ``payment`` from its ``old_status`` bucket to its ``new_status`` bucket.

    Call it in the transaction that changes the status (``old_status=None`` for a new payment), inside
    an app context: the bucket's day is the payment's creation date in ``DISPLAY_TIMEZONE``.
    One atomic upsert per bucket (:func:`add_to_bucket`).

    :param payment: anything with ``created_at``, ``provider``, ``currency`` and ``amount_minor``
    """
    if old_status == new_status:
        return
    day = local_day(payment.created_at or clock.now())
    bucket = {"day": day, "provider": payment.provider, "currency": payment.currency}
    move_buckets(
        session,
        [
            bucket_move(
                DailyTotal.__table__,
                {**bucket, "status": str(status)},
                {"count": sign, "amount_minor": sign * payment.amount_minor},
            )
            for status, sign in ((old_status, -1), (new_status, 1))
            if status is not None
        ],
    )


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
