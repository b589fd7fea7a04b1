"""A payroll batch's files for finance: the result (each payee's final status and reason) and the
error report (each problem with its cell), as CSV written a chunk of rows at a time.

No cell can start a spreadsheet formula: every value that came from the uploaded file or the bank
goes through :func:`dashboard.listing.spreadsheet_safe`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from dashboard.ach.banks import bank_name
from dashboard.ach.models import AchBatch
from dashboard.ach.queries import iter_items
from dashboard.ach.queries import iter_problem_items
from dashboard.ach.rules import OPTIONAL_COLUMNS
from dashboard.ach.rules import REQUIRED_COLUMNS
from dashboard.audit import service as audit
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.i18n import in_language
from dashboard.listing import readable
from dashboard.listing import spreadsheet_safe
from dashboard.money import Money
from dashboard.providers.hkach.consts import PROVIDER as HKACH
from dashboard.providers.registry import guidance

#: Excel reads a UTF-8 file as UTF-8 (Chinese names) only when it starts with a BOM.
BOM = "\ufeff"
RESULT_HEADER = (
    "Row",
    "Employee ID",
    "Payee name",
    "Payee name (Chinese)",
    "Bank code",
    "Bank",
    "Branch code",
    "Account number",
    "Amount",
    "Currency",
    "Reference",
    "Status",
    "Reason code",
    "Bank's reason",
    "Meaning",
    "Next step",
)
ERROR_HEADER = ("Row", "Column", "Severity", "Code", "Message", "Cell")
#: The audit action of a download of a batch's result file or error report.
DOWNLOAD_ACTION = "ach.file_downloaded"
#: Rows written per piece of the download.
PIECE = 1000


def _lines(header: Iterable[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """Yield the BOM and header line, then the rows, :data:`PIECE` rows per piece.

    In English throughout, like the header: spreadsheets and scripts read these files (and the
    guidance texts are read after the view returned, when the user's language is no longer looked up).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    piece: list[list[str]] = []
    with in_language("en"):
        for row in rows:
            piece.append(row)
            if len(piece) == PIECE:
                yield _written(buffer, writer, piece)
                piece = []
        if piece:
            yield _written(buffer, writer, piece)


def _written(buffer: io.StringIO, writer: Any, rows: list[list[str]]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    return buffer.getvalue()


def _safe(value: Any) -> str:
    return "" if value is None else spreadsheet_safe(str(value))


def _amount(minor: int | None, currency: str | None) -> str:
    if minor is None or not currency:
        return ""
    return f"{Money(minor, currency).decimal:f}"


def result_rows(session: Session, batch_id: int) -> Iterator[str]:
    """Yield the result file of a batch: one line per payee with its final status and reason."""
    batch = session.get(AchBatch, batch_id)
    currency = batch.currency if batch is not None else None
    banks: dict[str, str] = {}

    def cells(item: Any) -> list[str]:
        known = guidance(HKACH, item.reason_code) if item.reason_code else None
        return [
            str(item.row_number),
            _safe(item.employee_id),
            _safe(item.payee_name),
            _safe(item.payee_name_zh),
            _safe(item.bank_code),
            _safe(banks.setdefault(item.bank_code, bank_name(item.bank_code))),
            _safe(item.branch_code),
            _safe(item.account_number),
            _amount(item.amount_minor, currency),
            _safe(currency or item.currency),
            _safe(item.reference),
            readable(item.status),
            _safe(item.reason_code),
            _safe(item.reason_text),
            known.meaning if known else "",
            known.next_step if known and known.act else "",
        ]

    return _lines(RESULT_HEADER, (cells(item) for item in iter_items(session, batch_id)))


def _cell(item: Any, column: str | None, currency: str | None) -> str:
    """Return what the file held in ``column`` of the row, as stored (an invalid amount is not kept)."""
    if column == "amount":
        return _amount(item.amount_minor, currency)
    value = getattr(item, column, None) if column in _ITEM_COLUMNS else None
    return _safe(value)


#: The file's columns an item keeps as given (the amount is kept as minor units).
_ITEM_COLUMNS = frozenset((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)) - {"amount"}


def error_rows(session: Session, batch_id: int) -> Iterator[str]:
    """Yield the error report of a batch: the file's problems, then each row's (errors first)."""
    batch = session.get(AchBatch, batch_id)
    file_problems = list(batch.file_problems or ()) if batch is not None else []
    currency = batch.currency if batch is not None else None

    def rows() -> Iterator[list[str]]:
        for problem in file_problems:
            yield [
                "",
                problem.get("column") or "",
                problem["severity"],
                problem["code"],
                _safe(problem["message"]),
                "",
            ]
        for item in iter_problem_items(session, batch_id):
            for problem in item.problems:
                column = problem.get("column")
                yield [
                    str(item.row_number),
                    column or "",
                    problem["severity"],
                    problem["code"],
                    _safe(problem["message"]),
                    _cell(item, column, currency),
                ]

    return _lines(ERROR_HEADER, rows())


def record_download(session: Session, batch_id: int, kind: str) -> None:
    """Write who downloaded which file of a batch (``result`` or ``errors``) to the audit log, and commit it.

    Called before the first line is sent, so a download cut short is on record too: the files hold
    whole account numbers.
    """
    with write_transaction(session):
        audit.record(
            session,
            DOWNLOAD_ACTION,
            object_type=ObjectType.ACH_BATCH,
            object_id=batch_id,
            after={"file": kind},
        )
