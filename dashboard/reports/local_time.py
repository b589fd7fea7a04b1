"""Local days and hours of stored UTC times, computed by the database exactly as Python computes them.

Neither database is asked about time zones: the UTC offsets of the display time zone over the
span in question come from Python's ``zoneinfo`` (the same rules :func:`~dashboard.reports.models.local_day`
uses) and are written into the statement, so a rollup rebuilt in SQL lands every row on the day
its maintained bucket has, in any zone.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger
from sqlalchemy import case
from sqlalchemy import literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from dashboard.reports.models import EPOCH
from dashboard.reports.models import epoch_seconds

DAY = 86400
HOUR = 3600
_EPOCH_DAY = date(1970, 1, 1)


class whole_epoch_seconds(FunctionElement):
    """The whole seconds from 1970 to a stored UTC time, rounded down (as :func:`epoch_seconds`)."""

    type = BigInteger()
    inherit_cache = True


@compiles(whole_epoch_seconds, "sqlite")
def _sqlite_epoch(element, compiler, **kw) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': cut to the second first, as strftime would round
    # .9995 up to the next second.
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


@compiles(whole_epoch_seconds, "postgresql")
def _postgresql_epoch(element, compiler, **kw) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def offsets(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[int, int]]:
    """Return ``(from, offset)`` for each stretch of constant UTC offset of ``zone`` from ``first`` to
    ``last``: the epoch second the stretch starts (the first one's is ignored) and its offset in seconds.
    """

    def offset_at(second: int) -> int:
        moment = EPOCH + timedelta(seconds=second)
        return int(moment.astimezone(zone).utcoffset().total_seconds())

    start, end = epoch_seconds(first), epoch_seconds(last)
    stretches = [(start, offset_at(start))]
    step = DAY // 4  # zones change their offset far less often than this
    probe = start
    while probe < end:
        following = min(probe + step, end)
        if offset_at(following) != stretches[-1][1]:
            low, high = probe, following  # the offset changes after low, at or before high
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset_at(middle) == stretches[-1][1] else (low, middle)
            stretches.append((high, offset_at(high)))
        probe = following
    return stretches


def local_seconds(column: ColumnElement, stretches: list[tuple[int, int]]) -> ColumnElement[int]:
    """Return ``column`` as whole seconds from 1970 on the local clock of the given offset stretches.

    The numbers are written as literals, so the expression can appear in GROUP BY as in the select list.
    """
    seconds = whole_epoch_seconds(column)
    first_offset = stretches[0][1]
    if len(stretches) == 1:
        return seconds + literal_column(str(first_offset))
    whens = [
        (seconds < literal_column(str(start)), seconds + literal_column(str(offset)))
        for (_, offset), (start, _) in pairwise(stretches)
    ]
    return case(*whens, else_=seconds + literal_column(str(stretches[-1][1])))


def local_day_number(column: ColumnElement, stretches: list[tuple[int, int]]) -> ColumnElement[int]:
    """Return the local day of ``column`` as a number of days from 1970-01-01 (see :func:`day_of_number`)."""
    return local_seconds(column, stretches) // literal_column(str(DAY))


def local_hour_number(column: ColumnElement, stretches: list[tuple[int, int]]) -> ColumnElement[int]:
    """Return the local hour of ``column`` as an hour number (hours from 1970-01-01 00:00 local)."""
    return local_seconds(column, stretches) // literal_column(str(HOUR))


def day_of_number(number: int) -> date:
    """Return the date a :func:`local_day_number` names."""
    return _EPOCH_DAY + timedelta(days=number)


def hour_of_number(number: int, zone: ZoneInfo) -> datetime:
    """Return the local wall-clock hour a :func:`local_hour_number` names, in ``zone``."""
    wall = datetime(1970, 1, 1) + timedelta(hours=number)
    return wall.replace(tzinfo=zone)
