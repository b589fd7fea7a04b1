"""Read side of payroll batches: the list (keyset, filters, search), a batch's items, per-bank totals,
its problems and its progress."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import NamedTuple

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from dashboard.ach.banks import bank_name
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.rules import account_digits
from dashboard.ach.states import BatchStatus
from dashboard.listing import PAGE_SIZE
from dashboard.listing import Cursor
from dashboard.listing import Found
from dashboard.listing import IdKind
from dashboard.listing import Page
from dashboard.listing import among_found
from dashboard.listing import find_ids
from dashboard.listing import in_page_order_when_many
from dashboard.listing import searched_page
from dashboard.listing import with_own_number
from dashboard.money import Money


@dataclass(frozen=True)
class BatchFilter:
    """What the batches list filters on; empty fields do not filter."""

    status: str | None = None
    #: Value dates from and to (both included).
    value_from: date | None = None
    value_to: date | None = None
    uploaded_by_id: int | None = None
    #: A batch reference, an employee id, a payee name (by its start, in any case) or an account
    #: number (spaces and hyphens ignored).
    q: str | None = None


def _batches_where(condition: ColumnElement[bool]) -> Select:
    return select(AchBatch.id).where(condition)


def _batches_of_items_where(condition: ColumnElement[bool]) -> Select:
    return select(AchItem.batch_id).where(condition)


def _account_searched(q: str) -> str:
    """Return the account number ``q`` names: its digits as items store them (``q`` if it has none)."""
    return account_digits(q) or q


def _batch_ids(ids_by_prefix: bool) -> tuple[IdKind, ...]:
    return (
        IdKind(AchBatch.reference, _batches_where),
        IdKind(AchItem.employee_id, _batches_of_items_where, by_prefix=ids_by_prefix),
        # Any case, through the upper(payee_name) index; SQLite's upper() changes only ASCII letters.
        IdKind(func.upper(AchItem.payee_name), _batches_of_items_where, read=str.upper),
        IdKind(
            AchItem.account_number, _batches_of_items_where, by_prefix=ids_by_prefix, read=_account_searched
        ),
    )


#: The columns a batches search looks in.
SEARCHED_COLUMNS = (AchBatch.reference, AchItem.employee_id, AchItem.payee_name, AchItem.account_number)


#: What a batches search finds, each exactly or by its start, through its own index.
BATCH_IDS = _batch_ids(ids_by_prefix=True)
#: The same for a searcher who sees employee ids and account numbers masked: those only whole, so
#: nobody can learn one a digit at a time from which starts find a batch.
BATCH_IDS_MASKED = _batch_ids(ids_by_prefix=False)

#: What the batches list shows of each batch.
LISTED_COLUMNS = (
    AchBatch.id,
    AchBatch.created_at,
    AchBatch.reference,
    AchBatch.file_name,
    AchBatch.status,
    AchBatch.value_date,
    AchBatch.currency,
    AchBatch.item_count,
    AchBatch.total_minor,
    AchBatch.error_count,
    AchBatch.warning_count,
    AchBatch.final_count,
    AchBatch.paid_count,
    AchBatch.rejected_count,
    AchBatch.uploaded_by_id,
    AchBatch.decided_by_id,
)


def found_batches(session: Session, filters: BatchFilter, *, ids_by_prefix: bool) -> Found | None:
    """Return the ids of the batches ``filters``' search names (None: no search).

    Employee ids and account numbers are found by their start only when ``ids_by_prefix``; a batch
    also by its own number (``3`` or ``#3``).
    """
    if not filters.q:
        return None
    kinds = BATCH_IDS if ids_by_prefix else BATCH_IDS_MASKED
    return find_ids(session, filters.q, with_own_number(filters.q, kinds, AchBatch.id))


def batch_conditions(
    session: Session, filters: BatchFilter, found: Found | None = None
) -> list[ColumnElement[bool]]:
    """Return the conditions of ``filters`` on batches, each answerable from an index (see the model)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        conditions.append(AchBatch.status == filters.status)
    if filters.uploaded_by_id is not None:
        conditions.append(AchBatch.uploaded_by_id == filters.uploaded_by_id)
    bounds = []
    if filters.value_from is not None:
        bounds.append(AchBatch.value_date >= filters.value_from)
    if filters.value_to is not None:
        bounds.append(AchBatch.value_date <= filters.value_to)
    if bounds:
        conditions.append(in_page_order_when_many(session, AchBatch, and_(*bounds)))
    if filters.q and found is None:
        raise ValueError("a search needs the ids it names found first")
    return among_found(AchBatch, found, conditions)


def batch_page(
    session: Session, filters: BatchFilter, cursor: Cursor | None = None, *, ids_by_prefix: bool
) -> Page:
    """Return one page of batches matching ``filters``, newest first, with the next page's cursor.

    Employee ids and account numbers are found by their start only when ``ids_by_prefix``: for
    those who see them whole.
    """
    found = found_batches(session, filters, ids_by_prefix=ids_by_prefix)
    statement = select(*LISTED_COLUMNS).where(*batch_conditions(session, filters, found))
    return searched_page(session, statement, AchBatch, cursor, found)


# --- one batch's items -----------------------------------------------------------------------------

#: Item cursors read ``segment × ROW_SPAN + row``: a draft lists rows with errors (segment 0), then
#: rows with warnings only (1), then the rest (2), each segment in row order.
ROW_SPAN = 10_000_000

#: The item columns the batch page shows.
ITEM_COLUMNS = (
    AchItem.id,
    AchItem.row_number,
    AchItem.employee_id,
    AchItem.payee_name,
    AchItem.payee_name_zh,
    AchItem.email,
    AchItem.bank_code,
    AchItem.branch_code,
    AchItem.account_number,
    AchItem.amount_minor,
    AchItem.currency,
    AchItem.reference,
    AchItem.instruction_id,
    AchItem.problems,
    AchItem.has_error,
    AchItem.has_warning,
    AchItem.status,
    AchItem.reason_code,
    AchItem.reason_text,
    AchItem.final_at,
)

#: The preview's segments, in the order it shows them.
_PREVIEW_SEGMENTS: tuple[Callable[[], ColumnElement[bool]], ...] = (
    lambda: AchItem.has_error.is_(True),
    lambda: (AchItem.has_error.is_(False)) & (AchItem.has_warning.is_(True)),
    lambda: (AchItem.has_error.is_(False)) & (AchItem.has_warning.is_(False)),
)


def items_page(
    session: Session,
    batch_id: int,
    status: str | None = None,
    cursor: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return one page of a batch's items and the next page's cursor.

    A draft (without a status filter) lists rows with problems first; otherwise rows come in row
    order, filtered by item status when asked. Each page reads an index range in row order.
    """
    batch_status = session.scalar(select(AchBatch.status).where(AchBatch.id == batch_id))
    after = cursor.key if cursor is not None else -1
    if status or batch_status != BatchStatus.DRAFT:
        where = [AchItem.batch_id == batch_id, AchItem.row_number > after]
        if status:
            where.append(AchItem.status == status)
        rows = session.execute(
            select(*ITEM_COLUMNS).where(*where).order_by(AchItem.row_number).limit(size + 1)
        ).all()
        more = len(rows) > size
        rows = rows[:size]
        return Page(list(rows), Cursor(None, rows[-1].row_number) if more else None)
    return _preview_page(session, batch_id, after, size)


def _preview_page(session: Session, batch_id: int, after: int, size: int) -> Page:
    """Return a draft's rows with errors, then with warnings, then the rest, from cursor key ``after``."""
    rows: list[Any] = []
    first_segment, after_row = divmod(after, ROW_SPAN) if after >= 0 else (0, -1)
    for segment in range(first_segment, len(_PREVIEW_SEGMENTS)):
        start = after_row if segment == first_segment else -1
        wanted = size + 1 - len(rows)
        found = session.execute(
            select(*ITEM_COLUMNS)
            .where(AchItem.batch_id == batch_id, _PREVIEW_SEGMENTS[segment](), AchItem.row_number > start)
            .order_by(AchItem.row_number)
            .limit(wanted)
        ).all()
        rows += [(segment, row) for row in found]
        if len(rows) > size:
            break
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more:
        segment, last = rows[-1]
        next_cursor = Cursor(None, segment * ROW_SPAN + last.row_number)
    return Page([row for _, row in rows], next_cursor)


class BankTotal(NamedTuple):
    """The valid items of a batch paid into one bank: ``(bank_code, bank_name, count, total_minor)``."""

    bank_code: str
    bank_name: str
    count: int
    total_minor: int


def bank_totals(session: Session, batch_id: int) -> list[BankTotal]:
    """Return the count and sum of a batch's items without errors, per bank code, by code."""
    rows = session.execute(
        select(AchItem.bank_code, func.count(), func.coalesce(func.sum(AchItem.amount_minor), 0))
        .where(AchItem.batch_id == batch_id, AchItem.has_error.is_(False))
        .group_by(AchItem.bank_code)
        .order_by(AchItem.bank_code)
    )
    return [BankTotal(code, bank_name(code), count, int(total)) for code, count, total in rows]


@dataclass(frozen=True)
class ProblemLine:
    """One problem as the preview and the error report list it."""

    row: int | None
    column: str | None
    severity: str
    code: str
    message: str


def problems_of(session: Session, batch_id: int, limit: int) -> list[ProblemLine]:
    """Return up to ``limit`` problems of a batch: the file's first, then the rows' (errors first)."""
    batch = session.get(AchBatch, batch_id)
    if batch is None:
        return []
    lines = [_line(None, problem) for problem in batch.file_problems or ()][:limit]
    for item in iter_problem_items(session, batch_id):
        for problem in item.problems:
            if len(lines) >= limit:
                return lines
            lines.append(_line(item.row_number, problem))
    return lines


def _line(row: int | None, problem: dict[str, Any]) -> ProblemLine:
    return ProblemLine(row, problem.get("column"), problem["severity"], problem["code"], problem["message"])


#: Items read per query when walking a batch's rows.
CHUNK = 1000


def _walk(session: Session, batch_id: int, *conditions: ColumnElement[bool]) -> Iterator[Any]:
    """Yield a batch's items matching ``conditions`` in row order, a keyset chunk at a time."""
    after = -1
    while True:
        chunk = session.execute(
            select(*ITEM_COLUMNS)
            .where(AchItem.batch_id == batch_id, *conditions, AchItem.row_number > after)
            .order_by(AchItem.row_number)
            .limit(CHUNK)
        ).all()
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].row_number


def iter_problem_items(session: Session, batch_id: int) -> Iterator[Any]:
    """Yield a batch's items with errors (in row order), then those with warnings only."""
    for segment in _PREVIEW_SEGMENTS[:2]:
        yield from _walk(session, batch_id, segment())


def iter_items(session: Session, batch_id: int) -> Iterator[Any]:
    """Yield every item of a batch in row order."""
    return _walk(session, batch_id)


@dataclass(frozen=True)
class Progress:
    """How far the bank has got with a batch (the progress bar)."""

    final: int
    total: int
    paid: Money | None
    paid_count: int
    rejected_count: int

    @property
    def percent(self) -> int:
        """Return the share of items final, in whole percent (0 for a batch with nothing to send)."""
        return self.final * 100 // self.total if self.total else 0


def progress(batch: AchBatch) -> Progress:
    """Return a batch's progress as its columns hold it."""
    return Progress(
        final=batch.final_count,
        total=batch.valid_count,
        paid=batch.paid,
        paid_count=batch.paid_count,
        rejected_count=batch.rejected_count,
    )
