"""Shared read side of list pages: keyset cursors, index-friendly id search, filters from the URL, day ranges.

Lists are newest first on ``(created_at, id)`` and page with a cursor in the URL, never with OFFSET
and never with a COUNT (DESIGN §7): the next page is "rows older than the last one shown".
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import tuple_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from wtforms.fields.choices import SelectChoice

PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the ``created_at`` and ``id`` of its last row (``<microseconds>.<id>`` in URLs)."""

    created_at: datetime
    id: int

    def __str__(self) -> str:
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}.{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """Read a cursor from the URL; None for anything malformed (the list starts at the top)."""
        micros, _, row_id = (text or "").partition(".")
        digits = (micros + row_id).isascii() and micros.isdigit() and row_id.isdigit()
        if not digits or len(micros) > 17 or len(row_id) > 19:
            return None
        return cls(_EPOCH + int(micros) * _MICROSECOND, int(row_id))


def keyset(statement: Select, model: Any, before: Cursor | None, size: int = PAGE_SIZE) -> Select:
    """Limit ``statement`` to the page older than ``before``, plus one row that tells whether more follow.

    ``model`` needs ``created_at`` and ``id`` columns with an index that ends in them.
    """
    if before is not None:
        statement = statement.where(tuple_(model.created_at, model.id) < (before.created_at, before.id))
    return statement.order_by(model.created_at.desc(), model.id.desc()).limit(size + 1)


def newest_first(
    session: Session, statement: Select, model: Any, before: Cursor | None, size: int = PAGE_SIZE
) -> tuple[list[T], Cursor | None]:
    """Return up to ``size`` rows of ``statement`` older than ``before`` and the cursor of the next page."""
    rows = list(session.scalars(keyset(statement, model, before, size)))
    next_cursor = Cursor(rows[size - 1].created_at, rows[size - 1].id) if len(rows) > size else None
    return rows[:size], next_cursor


def _strings_after(prefix: str) -> str | None:
    """Return the smallest string above every string that starts with ``prefix`` (None: no bound)."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= _LAST_CODE_POINT:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None


def starts_with(column: InstrumentedAttribute, prefix: str) -> ColumnElement[bool]:
    """Match values equal to or starting with ``prefix`` as a range the column's B-tree index answers.

    Never ``LIKE '%…'`` (a full scan), and not ``LIKE '…%'`` either: SQLite uses an index for it only
    under NOCASE and PostgreSQL only under the C collation or ``text_pattern_ops``. The range is exact
    wherever text compares by code point (SQLite's BINARY, PostgreSQL's C and C.UTF-8 collations).
    """
    upper = _strings_after(prefix)
    return column >= prefix if upper is None else and_(column >= prefix, column < upper)


def start_of_day(day: date, zone: str) -> datetime:
    """Return the UTC instant at which ``day`` begins in time zone ``zone``."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def within_days(
    column: Any, day_from: date | None, day_to: date | None, zone: str
) -> list[ColumnElement[bool]]:
    """Return conditions keeping ``column`` within days ``day_from`` to ``day_to`` (inclusive) in ``zone``."""
    conditions = []
    if day_from:
        conditions.append(column >= start_of_day(day_from, zone))
    if day_to:
        conditions.append(column < start_of_day(day_to + timedelta(days=1), zone))
    return conditions


def strip_text(value: str | None) -> str | None:
    """WTForms filter: drop surrounding blanks from a pasted id."""
    return value.strip() if value else value


def readable(value: str) -> str:
    """Show a status or other code in words: ``charged_back`` → ``charged back``."""
    return value.replace("_", " ")


def choices(
    values: Iterable[str], anything: str, label: Callable[[str], str] = readable
) -> list[SelectChoice]:
    """Return select choices for a filter: ``anything`` (no filter) first, then each value's label."""
    return [SelectChoice("", anything), *(SelectChoice(str(v), label(str(v))) for v in values)]


def read_filters(form: FlaskForm, filters: type[T]) -> T:
    """Build the ``filters`` dataclass from a GET form; an invalid form filters nothing (its errors show)."""
    if not form.validate():
        return filters()
    return filters(**{name: form[name].data or None for name in filters.__dataclass_fields__})


def filter_args(args: Mapping[str, str]) -> dict[str, str]:
    """Return the query arguments a list's links keep: every non-empty one except the page cursor."""
    return {key: value for key, value in args.items() if key != "before" and value}
