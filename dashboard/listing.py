"""Shared read side of list pages: keyset cursors, index-friendly id search, filters from the URL, day ranges.

Lists are newest first on a time and a unique key (or on the key alone) and page with a cursor in the
URL, never with OFFSET and never with a COUNT (DESIGN §7): the next page is "rows older than the last
one shown".
"""

from __future__ import annotations

import operator
from collections import namedtuple
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import cache
from functools import lru_cache
from typing import Any
from typing import TypeVar
from urllib.parse import parse_qsl
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Response
from flask import request
from flask_babel import LazyString
from flask_wtf import FlaskForm
from sqlalchemy import ARRAY
from sqlalchemy import BigInteger
from sqlalchemy import CompoundSelect
from sqlalchemy import Result
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import any_
from sqlalchemy import asc
from sqlalchemy import bindparam
from sqlalchemy import desc
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import tuple_
from sqlalchemy import union_all
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.datastructures import MultiDict
from wtforms import Field
from wtforms import ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.validators import Optional

from dashboard.db import checked_on_rows
from dashboard.db import is_row_id
from dashboard.events.service import LATEST_EVENT_ID
from dashboard.events.service import latest_event_id
from dashboard.htmx import is_htmx
from dashboard.htmx import render_fragment
from dashboard.i18n import lazy_gettext as _l
from dashboard.statuses import status_label

PAGE_SIZE = 50
#: Most rows a search lists: a prefix of more ids than this lists exact matches only.
SEARCH_CAP = 500
#: The usual order of a list: newest ``created_at`` first, ties broken by ``id``.
NEWEST_CREATED = ("created_at", "id")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)

T = TypeVar("T")

#: A live list's rows carry the newest event id under this name (:func:`searched_page`).
_LIVE_FROM = LATEST_EVENT_ID.scalar_subquery().label("live_from")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the key of its last row and, when the URL carries it, that row's time.

    In URLs a timed cursor reads ``<microseconds>.<key>`` and an untimed one ``<key>`` (the number the
    audit log and the inbox show on every row); a list ordered by time reads an untimed cursor's time
    from its row (see :func:`keyset`).
    """

    time: datetime | None
    key: int

    def __str__(self) -> str:
        if self.time is None:
            return str(self.key)
        return f"{(self.time - _EPOCH) // _MICROSECOND}.{self.key}"

    @classmethod
    def parse(cls, text: str | None, *, timed: bool = True) -> Cursor | None:
        """Read a cursor from the URL (the bare key when not ``timed``); None for anything malformed.

        A malformed cursor starts the list at the top.
        """
        if not timed:
            return cls(None, int(text)) if is_row_id(text or "") else None
        micros, _, key = (text or "").partition(".")
        if not (_is_digits(micros) and len(micros) <= 17 and is_row_id(key)):
            return None
        return cls(_EPOCH + int(micros) * _MICROSECOND, int(key))


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def keyset(
    statement: Select,
    model: Any,
    before: Cursor | None,
    size: int = PAGE_SIZE,
    *,
    order: tuple[str, ...] = NEWEST_CREATED,
    soonest: bool = False,
) -> Select:
    """Limit ``statement`` to the page after ``before``, plus one row that tells whether more follow.

    Rows come newest first by ``model``'s ``order`` columns (a time then a unique key, or a unique key
    alone), which need an index that ends in them; ``soonest`` turns the order round (earliest time
    first, as a list of what runs out soonest reads). An untimed cursor on a list ordered by time is
    placed at its row's time, read by key in the same statement.
    """
    *time_columns, key = (getattr(model, name) for name in order)
    after = operator.gt if soonest else operator.lt
    direction = asc if soonest else desc
    if not time_columns:
        if before is not None:
            statement = statement.where(after(key, before.key))
        return statement.order_by(direction(key)).limit(size + 1)
    (at,) = time_columns
    if before is not None and before.time is not None:
        statement = statement.where(after(tuple_(at, key), (before.time, before.key)))
    elif before is not None:
        anchor = select(at).where(key == before.key).scalar_subquery()
        # The first condition bounds the index range; the second breaks ties on the same instant.
        reached = operator.ge if soonest else operator.le
        statement = statement.where(reached(at, anchor), or_(after(at, anchor), after(key, before.key)))
    return statement.order_by(direction(at), direction(key)).limit(size + 1)


def listed_rows(result: Result) -> list[tuple]:
    """Return ``result``'s rows as named tuples of its columns.

    A list's template reads several columns of every row by name. Through Jinja, a named tuple's
    field takes 70 ns, where a SQLAlchemy row's takes 360 ns (a look-up in its key map): about
    0.25 ms of a 50-row page, against 13 µs to make the tuples.
    """
    return list(map(_listed_row_maker(tuple(result.keys())), result))


@cache
def _listed_row_maker(names: tuple[str, ...]) -> Callable[[Iterable[Any]], tuple]:
    """Return the maker of the named tuple a list's rows are read into, made once per set of column names."""
    return namedtuple("ListedRow", names)._make


def newest_first(
    session: Session,
    statement: Select,
    model: Any,
    before: Cursor | None,
    size: int = PAGE_SIZE,
    *,
    order: tuple[str, ...] = NEWEST_CREATED,
    timed: bool = True,
    soonest: bool = False,
) -> tuple[list[tuple], Cursor | None]:
    """Return up to ``size`` rows of ``statement`` after ``before`` and the cursor of the next page.

    ``statement`` selects the columns the list shows, including ``order``'s under their own names:
    plain rows (:func:`listed_rows`), which cost far less to read than ORM objects the session would
    track. The next cursor carries the last row's time when ``timed`` and ``order`` starts with a
    time.
    """
    rows = listed_rows(session.execute(keyset(statement, model, before, size, order=order, soonest=soonest)))
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    *time_names, key = order
    last_time = getattr(last, time_names[0]) if timed and time_names else None
    return rows[:size], Cursor(last_time, getattr(last, key))


def in_chunks(
    session: Session,
    statement: Select,
    model: Any,
    size: int,
    *,
    order: tuple[str, ...] = NEWEST_CREATED,
) -> Iterator[Sequence[Row]]:
    """Yield every row of ``statement`` newest first, ``size`` rows at a time, one keyset query per chunk.

    For exports of any length in constant memory: ``statement`` selects columns (rows, not ORM objects
    the session would keep) including ``model``'s ``order`` columns under their own names. Each chunk's
    read transaction ends before the chunk is handed out, so a long export holds no snapshot between
    chunks (SQLite can checkpoint its WAL meanwhile). The order columns never change, so every row that
    existed when the export began comes exactly once; each chunk shows rows as they are when it is read.
    The session must hold no pending changes (they would be rolled back).
    """
    *time_names, key_name = order
    before: Cursor | None = None
    while True:
        rows = session.execute(keyset(statement, model, before, size, order=order)).all()
        session.rollback()
        chunk, more = rows[:size], len(rows) > size
        if chunk:
            yield chunk
        if not more:
            return
        last = chunk[-1]
        before = Cursor(getattr(last, time_names[0]) if time_names else None, getattr(last, key_name))


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
    return _from_to(column, prefix, _strings_after(prefix))


def _from_to(column: Any, lower: Any, upper: Any | None) -> ColumnElement[bool]:
    """Match ``lower`` <= ``column`` < ``upper`` (no upper bound when ``upper`` is None)."""
    return column >= lower if upper is None else and_(column >= lower, column < upper)


@dataclass(frozen=True)
class IdKind:
    """One kind of id a list's search finds: where it is stored, and how that leads to the listed rows."""

    #: The indexed column (or indexed expression, such as ``upper(name)``) holding this kind of id.
    column: InstrumentedAttribute | ColumnElement[Any]
    #: Select the listed rows' ids (one column) from the rows where a condition on ``column`` holds.
    listed: Callable[[ColumnElement[bool]], Select]
    #: Whether the search also finds an id by how it starts.
    by_prefix: bool = True
    #: The id the search text names, or the start it names (for a number column, the number it spells).
    read: Callable[[str], Any] = str


@dataclass(frozen=True)
class Found:
    """The ids of the listed rows a search names."""

    ids: list[int]
    #: More than :data:`SEARCH_CAP` ids start with the search: only exact matches are listed.
    prefix_too_broad: bool = False
    #: The database takes the ids as one array (PostgreSQL), not as a parameter each.
    as_array: bool = False

    def among(self, key: InstrumentedAttribute) -> ColumnElement[bool]:
        """Return the condition that ``key`` is one of these ids."""
        if self.as_array:
            # One parameter: as an IN list, SQLAlchemy and psycopg spend a few microseconds on
            # each id (126 ids: 0.8 ms a page as a list, 0.3 ms as an array).
            return key == any_(bindparam("found_ids", self.ids, type_=ARRAY(BigInteger), unique=True))
        return key.in_(self.ids)


@dataclass(frozen=True)
class Page:
    """One keyset page of a list."""

    rows: list[Any]
    #: Where the next (older) page starts; None on the last page.
    next_cursor: Cursor | None
    #: The search was a prefix of too many ids: only exact matches are listed.
    prefix_too_broad: bool = False
    #: The newest event id when the rows were read, where the page's live updates start (a live
    #: list's page, see :func:`searched_page`).
    live_from: int | None = None


def no_rows_page(session: Session) -> Page:
    """Return the page of a live list whose filters are invalid: no rows, and where its live updates
    start."""
    return Page([], None, live_from=latest_event_id(session))


def own_number(q: str) -> int | None:
    """Return the row number ``q`` spells (``437`` or ``#437``, as pages show it); None for anything else."""
    digits = q.removeprefix("#")
    return int(digits) if is_row_id(digits) else None


def with_own_number(q: str, kinds: Sequence[IdKind], key: InstrumentedAttribute) -> tuple[IdKind, ...]:
    """Return ``kinds``, and the listed rows' primary ``key`` as one more exact lookup when ``q`` spells
    a row number (see :func:`own_number`)."""
    if own_number(q) is None:
        return tuple(kinds)
    return (*kinds, _own_number_kind(key))


@cache
def _own_number_kind(key: InstrumentedAttribute) -> IdKind:
    """Return the lookup of a row by its number, one per key, so a search's statement is built once."""
    return IdKind(key, lambda condition: select(key).where(condition), by_prefix=False, read=own_number)


#: How a search looks up one kind of id: equal to the text, from the text on (a start with no
#: string above it), or from the text to the first string above every string starting with it.
_EXACT, _FROM, _RANGE = "exact", "from", "range"


@lru_cache(maxsize=256)
def _lookup_statement(kinds: tuple[IdKind, ...], shapes: tuple[str, ...], limit: int) -> CompoundSelect:
    """Build once the UNION ALL of one index lookup per kind in its shape, the text a bound value.

    A list search runs it on every keystroke that settles: built per request, its expression took
    more time than the lookups it runs.
    """
    branches = []
    for index, (kind, shape) in enumerate(zip(kinds, shapes, strict=True)):
        value = bindparam(f"search_{index}")
        if shape == _EXACT:
            condition = kind.column == value
        else:
            upper = bindparam(f"search_{index}_upper") if shape == _RANGE else None
            condition = _from_to(kind.column, value, upper)
        branches.append(kind.listed(condition))
    return union_all(*branches).limit(limit)


def find_ids(session: Session, q: str, kinds: Sequence[IdKind]) -> Found:
    """Return the ids of the listed rows whose ids of any of ``kinds`` equal or start with ``q``.

    One index lookup per kind, as one UNION ALL that stops after :data:`SEARCH_CAP` + 1 ids. When a
    prefix names more, only exact matches are read (at most as many again). A list then applies its
    other filters, its order and its limit to these few ids, so its page is a primary-key lookup of a
    few rows whatever the size of the table.
    """

    def lookup(prefix: bool) -> list[int]:
        shapes, values = [], {}
        for index, kind in enumerate(kinds):
            value = values[f"search_{index}"] = kind.read(q)
            if not (prefix and kind.by_prefix):
                shapes.append(_EXACT)
            elif (upper := _strings_after(value)) is None:
                shapes.append(_FROM)
            else:
                shapes.append(_RANGE)
                values[f"search_{index}_upper"] = upper
        return list(session.scalars(_lookup_statement(tuple(kinds), tuple(shapes), SEARCH_CAP + 1), values))

    as_array = session.get_bind().dialect.name == "postgresql"
    ids = lookup(prefix=True)
    if len(ids) <= SEARCH_CAP:
        return Found(sorted(set(ids)), as_array=as_array)
    return Found(sorted(set(lookup(prefix=False)))[:SEARCH_CAP], prefix_too_broad=True, as_array=as_array)


def among_found(
    model: Any, found: Found | None, conditions: Sequence[ColumnElement[bool]]
) -> list[ColumnElement[bool]]:
    """Return ``conditions`` on ``model``, kept to the ``found`` ids when there was a search.

    With a search the other conditions become one term no index answers, so the database reads the
    few found rows by primary key and never walks a filter's index testing each row against the ids
    (SQLite without statistics would).
    """
    if found is None:
        return list(conditions)
    kept = [found.among(model.id)]
    return [*kept, checked_on_rows(and_(*conditions))] if conditions else kept


#: Most rows a range filter may match and still be read from its own index, then sorted for the page.
FEW_ENOUGH_TO_SORT = 2000


def in_page_order_when_many(
    session: Session, model: Any, condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Return a range ``condition`` on ``model`` written so the list reads it the cheaper way.

    Few matching rows: as it is, so its own index finds them all and the few are sorted. More than
    :data:`FEW_ENOUGH_TO_SORT`: as a term no index answers, so the list walks its order index, where
    that many matches fill a page soon. SQLite has no statistics for a range (no STAT4) and would sort
    a range of any size (88 ms for 147,000 audit entries starting ``auth.``); the count stops at the
    bound and reads only the range's index. PostgreSQL's planner weighs this itself from its
    statistics, so there the condition is left as it is.
    """
    if session.get_bind().dialect.name != "sqlite":
        return condition
    # Counted by the database, so the up to 2,001 matches never come to Python as rows.
    probe = select(true()).select_from(model).where(condition).limit(FEW_ENOUGH_TO_SORT + 1).subquery()
    if session.scalar(select(func.count()).select_from(probe)) > FEW_ENOUGH_TO_SORT:
        return checked_on_rows(condition)
    return condition


def searched_page(
    session: Session,
    statement: Select,
    model: Any,
    before: Cursor | None,
    found: Found | None,
    *,
    order: tuple[str, ...] = NEWEST_CREATED,
    timed: bool = True,
    soonest: bool = False,
) -> Page:
    """Return one page of a live list: ``statement``'s rows (see :func:`newest_first`), which a search
    keeps to the ``found`` ids (see :func:`among_found`), and the newest event id (``live_from``).

    With a search the page is read by primary key among those few ids, never by walking a time
    index; a search that found nothing reads no rows.

    The event id is read in the statement that reads the rows, so it is exactly as new as they are
    and costs no round trip of its own (on PostgreSQL, a quarter of a millisecond here); only a page
    without rows reads it apart.
    """
    if found is not None and not found.ids:
        return Page([], None, found.prefix_too_broad, latest_event_id(session))
    rows, next_cursor = newest_first(
        session, statement.add_columns(_LIVE_FROM), model, before, order=order, timed=timed, soonest=soonest
    )
    live_from = (rows[0].live_from or 0) if rows else latest_event_id(session)
    return Page(rows, next_cursor, found is not None and found.prefix_too_broad, live_from)


#: Most new rows a list's "N new" bar counts; beyond it the bar says "or more".
NEW_ROWS_CAP = 1000


@dataclass(frozen=True)
class NewRows:
    """What a list's "N new" bar says: rows created since the page was rendered, by whether its
    filters match them."""

    matching: int
    other: int
    #: More were created than the bar counts (:data:`NEW_ROWS_CAP`).
    more: bool = False


def keys_after(session: Session, key: InstrumentedAttribute, after: int) -> list[int]:
    """Return the keys above ``after`` (the newest when a page was rendered), at most
    :data:`NEW_ROWS_CAP` + 1: a range at the end of the key's index, whatever the size of the table."""
    return list(session.scalars(select(key).where(key > after).order_by(key).limit(NEW_ROWS_CAP + 1)))


def newest_key(session: Session, key: InstrumentedAttribute) -> int:
    """Return the newest key of a list's table (0 when empty): where its "N new" bar starts counting."""
    return session.scalar(_newest_statement(key)) or 0


@cache
def _newest_statement(key: InstrumentedAttribute) -> Select:
    """Build once the read of ``key``'s newest value (every inbox and audit page and live poll runs it)."""
    return select(key).order_by(key.desc()).limit(1)


def count_new(
    session: Session,
    key: InstrumentedAttribute,
    new_keys: Sequence[int],
    conditions: Sequence[ColumnElement[bool]] | None,
) -> NewRows:
    """Count how many of the first :data:`NEW_ROWS_CAP` of ``new_keys`` (rows created since a page was
    rendered) match a list's ``conditions`` (None: its filters are invalid and match nothing).

    One lookup of those few keys on their unique index, whatever the size of the table.
    """
    counted = set(new_keys[:NEW_ROWS_CAP])
    matching = 0
    if counted and conditions is not None:
        matching = session.scalar(select(func.count()).where(key.in_(counted), *conditions)) or 0
    return NewRows(matching, len(counted) - matching, more=len(new_keys) > NEW_ROWS_CAP)


def rendered_after() -> int:
    """Return the cursor a list's "N new" bar asks from (``after``: the newest when it was rendered)."""
    after = request.args.get("after", "")
    return int(after) if is_row_id(after) else 0


def new_rows_bar(
    session: Session,
    template: str,
    key: InstrumentedAttribute,
    new_keys: Sequence[int],
    conditions: Sequence[ColumnElement[bool]] | None,
) -> Response:
    """Answer a list's "N new" bar: block ``live_bar`` of its ``template``, counting ``new_keys`` by
    whether ``conditions`` match them (see :func:`count_new`); its "show" link keeps the filters."""
    return render_fragment(
        template,
        "live_bar",
        new=count_new(session, key, new_keys, conditions),
        query_args=filter_args(request.args, without=("after",)),
    )


def shown_rows(
    session: Session,
    template: str,
    columns: Sequence[Any],
    key: InstrumentedAttribute,
    context: Callable[[list[tuple]], dict[str, Any]] = lambda rows: {},
) -> Response:
    """Answer block ``rows`` of a list's ``template`` with the rows whose keys ``id`` names, as they
    are now (a page's worth at most): what app.js swaps in place of rows whose objects changed.

    :param context: what else the block needs for these rows (the staff names they show)
    """
    keys = [int(key) for key in request.args.getlist("id") if is_row_id(key)][:PAGE_SIZE]
    rows = listed_rows(session.execute(select(*columns).where(key.in_(keys)))) if keys else []
    return render_fragment(template, "rows", page=Page(rows, None), **context(rows))


def id_validators(*columns: InstrumentedAttribute) -> list[Callable[[FlaskForm, Field], None]]:
    """Return the validators of a list's search or id field that looks in these string ``columns``.

    Optional; as long as the longest column (a whole Worldpay payment id is about 180 characters);
    no control characters, which no id has and PostgreSQL refuses in text (NUL).
    """
    return [Optional(), at_most(max(column.type.length for column in columns)), _without_control_characters]


def at_most(characters: int) -> Length:
    """Return a validator refusing more than ``characters`` characters, saying so in the page's language."""
    return Length(max=characters, message=_l("Field cannot be longer than %(max)d characters."))


def _without_control_characters(form: FlaskForm, field: Field) -> None:
    if field.data and any(ord(char) < 0x20 or ord(char) == 0x7F for char in field.data):
        raise ValidationError(_l("Remove the tabs, line breaks or other control characters."))


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
    """Show a status or other code in English words, as exports write it (``charged_back`` → ``charged
    back``); pages show :func:`dashboard.statuses.status_label`."""
    return value.replace("_", " ")


def choices(
    values: Iterable[str],
    anything: str | LazyString,
    label: Callable[[str], str | LazyString] = status_label,
) -> list[SelectChoice]:
    """Return select choices for a filter: ``anything`` (no filter) first, then each value's label
    (by default the status's, read in the language of the page that shows it)."""
    return [SelectChoice("", anything), *(SelectChoice(str(v), label(str(v))) for v in values)]


def valid_filters(form: FlaskForm, filters: type[T]) -> T | None:
    """Build the ``filters`` dataclass from a GET form, or return None when the form is invalid.

    A list given None shows no rows beside the form's errors: never the unfiltered list.
    """
    if not form.validate():
        return None
    return filters(**{name: form[name].data or None for name in filters.__dataclass_fields__})


def filter_problems(form: FlaskForm) -> str:
    """Say in one line what is wrong with a filter form: ``Label: message; Label: message``."""
    return "; ".join(
        f"{form[name].label.text}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
    )


def filter_args(args: Mapping[str, str], without: Iterable[str] = ()) -> dict[str, str]:
    """Return the query arguments a list's links keep: every non-empty one except the page cursor
    (and those named ``without``)."""
    dropped = {"before", *without}
    # url_for reads "_external", "_scheme"… as its own options, never as a query argument.
    return {
        key: value for key, value in args.items() if key not in dropped and value and not key.startswith("_")
    }


def url_args(url: str | None) -> MultiDict:
    """Return the query arguments of ``url`` (e.g. htmx's ``HX-Current-URL``); none for no URL."""
    return MultiDict(parse_qsl(urlsplit(url or "").query, keep_blank_values=True))


def fields_to_refresh(form: FlaskForm) -> list[str]:
    """Return, for an htmx request, the ids of the validated filter ``form``'s fields whose messages
    differ from those on the page (the form of its address, ``HX-Current-URL``); none otherwise.

    A list's htmx answer re-renders these fields beside the results, out of band.
    """
    if not is_htmx():
        return []
    shown_args = url_args(request.headers.get("HX-Current-URL"))
    if all(shown_args.getlist(field.name) == (field.raw_data or []) for field in form):
        return []  # the same filters as shown (the pager, a live refresh): the same messages
    shown = type(form)(shown_args)
    shown.validate()
    return fields_with_new_messages(form, shown)


def fields_with_new_messages(form: FlaskForm, shown: FlaskForm) -> list[str]:
    """Return the ids of ``form``'s fields whose error messages differ from those ``shown`` has.

    Both forms must be validated. A list's htmx answer re-renders only these fields beside the
    results, so a message appears or goes away beside its field while the fields the user did not
    touch (and may be typing in) stay as they are.
    """
    return [field.id for field in form if field.errors != shown[field.name].errors]


#: What a spreadsheet reads as the start of a formula (or, for tab and carriage return, as a hidden
#: lead-in to one): a cell starting with one of them is prefixed with an apostrophe (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Return ``value`` so that a spreadsheet shows it as text, never evaluates it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
