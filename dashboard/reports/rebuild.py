"""Every rollup recomputed from the rows it counts: compared with the maintained one, or put in its place.

A rollup joins :data:`REBUILDERS` with :func:`register`, naming its table and a function that
recounts its buckets from the source rows (the payments' rollups aggregate in SQL: :func:`by_sql`).
``flask --app dashboard rollups rebuild`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal_column
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dashboard.payments.models import Payment
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import PaymentStatus
from dashboard.reports.local_time import day_of_number
from dashboard.reports.local_time import local_day_number
from dashboard.reports.local_time import offsets
from dashboard.reports.local_time import whole_epoch_seconds
from dashboard.reports.models import DAILY_FAILURES
from dashboard.reports.models import DAILY_TOTALS
from dashboard.reports.models import DAILY_WALLETS
from dashboard.reports.models import FINISH_BOUNDS
from dashboard.reports.models import FINISH_TIMES
from dashboard.reports.models import NONE
from dashboard.reports.models import PAID_STATUSES
from dashboard.reports.models import Rollup
from dashboard.reports.notification_rollups import NOTIFICATION_TALLIES
from dashboard.reports.notification_rollups import recounted_notification_tallies
from dashboard.reports.refund_rollups import REFUND_SHAPES
from dashboard.reports.refund_rollups import recounted_refund_rollups

#: A rollup's buckets as rows: its key columns, then its sums.
Buckets = dict[tuple, tuple[int, ...]]


@dataclass(frozen=True)
class Rebuilder:
    """How one rollup is recomputed from its source rows."""

    rollup: Rollup
    #: ``recount(session, zone)``: the rollup's buckets as the source rows make them now, days in ``zone``.
    recount: Callable[[Session, ZoneInfo], Buckets]


#: The rollups ``rollups rebuild`` checks and rebuilds, by table name.
REBUILDERS: dict[str, Rebuilder] = {}


def register(rollup: Rollup, recount: Callable[[Session, ZoneInfo], Buckets]) -> None:
    """Add ``rollup`` to :data:`REBUILDERS`, recounted by ``recount`` (see :class:`Rebuilder`)."""
    REBUILDERS[rollup.table.name] = Rebuilder(rollup, recount)


def by_sql(rollup: Rollup, aggregate: Callable[[Session, ZoneInfo], Select | None]):
    """Return a recount that runs ``aggregate``'s select: the rollup's key columns then its sums,
    grouped in SQL; a key column ``day`` holds a day number (:func:`local_day_number`); None: no rows.
    """

    def recount(session: Session, zone: ZoneInfo) -> Buckets:
        statement = aggregate(session, zone)
        if statement is None:
            return {}
        width = len(rollup.key)
        day_at = rollup.key.index("day") if "day" in rollup.key else None
        buckets: Buckets = {}
        for row in session.execute(statement):
            key = list(row[:width])
            if day_at is not None:
                key[day_at] = day_of_number(key[day_at])
            buckets[tuple(key)] = tuple(int(v or 0) for v in row[width:])
        return buckets

    return recount


@dataclass(frozen=True)
class Difference:
    """A bucket whose maintained sums differ from those rebuilt (zeros where a side has no bucket)."""

    key: dict[str, object]
    maintained: dict[str, int]
    rebuilt: dict[str, int]


@dataclass(frozen=True)
class Comparison:
    """One rollup compared with its rebuild."""

    table: str
    buckets: int
    differences: list[Difference]


def maintained_buckets(session: Session, rollup: Rollup) -> Buckets:
    """Return the rollup's buckets as kept, leaving out the empty ones (all sums zero)."""
    columns = [rollup.table.c[name] for name in (*rollup.key, *rollup.sums)]
    width = len(rollup.key)
    rows = session.execute(select(*columns)).all()
    return {tuple(row[:width]): tuple(int(v) for v in row[width:]) for row in rows if any(row[width:])}


def rebuilt_buckets(session: Session, rebuilder: Rebuilder, zone: ZoneInfo) -> Buckets:
    """Return the rollup's buckets as its source rows say, leaving out the empty ones."""
    return {key: sums for key, sums in rebuilder.recount(session, zone).items() if any(sums)}


def compare(rollup: Rollup, maintained: Buckets, rebuilt: Buckets) -> list[Difference]:
    """Return the buckets whose sums differ, in key order."""
    zeros = (0,) * len(rollup.sums)
    differences = []
    for key in sorted(maintained.keys() | rebuilt.keys()):
        kept, fresh = maintained.get(key, zeros), rebuilt.get(key, zeros)
        if kept != fresh:
            differences.append(
                Difference(
                    dict(zip(rollup.key, key, strict=True)),
                    dict(zip(rollup.sums, kept, strict=True)),
                    dict(zip(rollup.sums, fresh, strict=True)),
                )
            )
    return differences


def _hold_writers(session: Session, rollups: Iterable[Rollup]) -> None:
    """Keep every writer of the rollups waiting until this transaction ends.

    On PostgreSQL a change that moved a bucket holds its table until it commits, so once the lock is
    ours every change counted in a rollup is visible in the source rows, and a change still to come
    waits to move its buckets on top of the rebuilt ones. SQLite's write transaction (BEGIN
    IMMEDIATE) already holds every writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(rollup.table.name for rollup in rollups)
        session.connection().exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


def rebuild_rollups(
    session: Session, zone: ZoneInfo, *, replace: bool, tables: Iterable[str] | None = None
) -> list[Comparison]:
    """Recompute every registered rollup (or those of ``tables``), compare it with the maintained one
    and, if ``replace``, put the rebuilt buckets in its place, in the caller's transaction (which commits).

    Only a replace holds the rollups' writers; a comparison reads in the caller's transaction, which
    must then be one snapshot (:func:`snapshot`), so that writers never wait for it.
    """
    chosen = sorted(REBUILDERS.items() if tables is None else ((name, REBUILDERS[name]) for name in tables))
    if replace:
        _hold_writers(session, (rebuilder.rollup for _, rebuilder in chosen))
    comparisons = []
    for name, rebuilder in chosen:
        rollup = rebuilder.rollup
        rebuilt = rebuilt_buckets(session, rebuilder, zone)
        differences = compare(rollup, maintained_buckets(session, rollup), rebuilt)
        comparisons.append(Comparison(name, len(rebuilt), differences))
        if replace:
            session.execute(delete(rollup.table))
            rows = [
                dict(zip(rollup.key, key, strict=True)) | dict(zip(rollup.sums, sums, strict=True))
                for key, sums in rebuilt.items()
            ]
            if rows:
                session.execute(insert(rollup.table), rows)
    return comparisons


# --- the payments' rollups -----------------------------------------------------------------------


def _payment_days(session: Session, zone: ZoneInfo) -> ColumnElement[int] | None:
    """Return the local creation day number of a payment, for the span the payments cover (None: none)."""
    first, last = session.execute(select(func.min(Payment.created_at), func.max(Payment.created_at))).one()
    if first is None:
        return None
    return local_day_number(Payment.created_at, offsets(zone, first, last)).label("day")


def _daily_totals(session: Session, zone: ZoneInfo) -> Select | None:
    day = _payment_days(session, zone)
    if day is None:
        return None
    keys = (day, Payment.provider, Payment.status, Payment.currency)
    return select(*keys, func.count(), func.sum(Payment.amount_minor)).group_by(*keys)


def _daily_wallets(session: Session, zone: ZoneInfo) -> Select | None:
    day = _payment_days(session, zone)
    if day is None:
        return None
    keys = (day, Payment.provider, Payment.currency, func.upper(func.coalesce(Payment.payment_method, NONE)))
    finished = Payment.status.not_in(sorted(status.value for status in OPEN_PAYMENT))
    paid = func.sum(case((Payment.status.in_(sorted(status.value for status in PAID_STATUSES)), 1), else_=0))
    return select(*keys, func.count(), paid).where(finished).group_by(*keys)


def _daily_failures(session: Session, zone: ZoneInfo) -> Select | None:
    day = _payment_days(session, zone)
    if day is None:
        return None
    keys = (day, Payment.provider, Payment.currency, func.coalesce(Payment.result_code, NONE))
    statement = select(*keys, func.count(), func.sum(Payment.amount_minor))
    return statement.where(Payment.status == PaymentStatus.FAILED.value).group_by(*keys)


def finish_bucket_sql(seconds: ColumnElement[int]) -> ColumnElement[int]:
    """Return the :data:`FINISH_BOUNDS` bucket of ``seconds`` in SQL (as :func:`finish_bucket`)."""
    bounds = [literal_column(str(bound)) for bound in FINISH_BOUNDS]
    return case(*((seconds <= bound, bound) for bound in bounds[:-1]), else_=bounds[-1])


def _finish_times(session: Session, zone: ZoneInfo) -> Select | None:
    day = _payment_days(session, zone)
    if day is None:
        return None
    seconds = whole_epoch_seconds(Payment.finished_at) - whole_epoch_seconds(Payment.created_at)
    keys = (day, Payment.provider, Payment.currency, finish_bucket_sql(seconds))
    return select(*keys, func.count()).where(Payment.finished_at.is_not(None)).group_by(*keys)


for rollup, aggregate in (
    (DAILY_TOTALS, _daily_totals),
    (DAILY_WALLETS, _daily_wallets),
    (DAILY_FAILURES, _daily_failures),
    (FINISH_TIMES, _finish_times),
):
    register(rollup, by_sql(rollup, aggregate))


# --- the refunds' rollups (recounted in Python by their module) ------------------------------------


def _refund_recount(table: str) -> Callable[[Session, ZoneInfo], Buckets]:
    # The refund rollups read the display time zone from the app, as their moves do.
    return lambda session, zone: recounted_refund_rollups(session)[table]


for model, key, sums in REFUND_SHAPES.values():
    register(Rollup(model.__table__, key, sums), _refund_recount(model.__tablename__))


# --- the notification rollup (recounted in Python by its module) ------------------------------------

register(NOTIFICATION_TALLIES, lambda session, zone: recounted_notification_tallies(session))


def describe(key: dict[str, object]) -> str:
    """Return a bucket's key as the command prints it."""
    return " ".join(
        f"{name}={value.isoformat()}" if isinstance(value, date) else f"{name}={value!r}"
        for name, value in key.items()
    )


def snapshot(session: Session) -> Session:
    """Begin ``session``'s transaction as one snapshot that writes nothing, and return it.

    SQLite's read transaction is one already (WAL); PostgreSQL's default reads each statement afresh.
    """
    bind = session.get_bind()
    # A session joined to a transaction begun elsewhere (a test's) reads in that one.
    begun = isinstance(bind, Connection) and bind.in_transaction()
    if bind.dialect.name == "postgresql" and not begun:
        read_only = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        session.connection(execution_options=read_only)
    return session
