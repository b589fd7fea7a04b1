"""Payroll batches from upload to approval: store a file's rows, replace or discard it, ask for approval,
approve or reject it (sending is :mod:`dashboard.ach.sending`).

Every function here runs in one write transaction of its own and is audited; a refusal raises
before anything is written, so nothing is half-stored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from typing import BinaryIO
from typing import TypeVar

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.ach.models import AchBatch
from dashboard.ach.models import AchItem
from dashboard.ach.models import AchSubmission
from dashboard.ach.models import instruction_id
from dashboard.ach.payroll_file import FileRefused
from dashboard.ach.payroll_file import read_payroll
from dashboard.ach.rules import PayrollRow
from dashboard.ach.rules import Problem
from dashboard.ach.rules import Severity
from dashboard.ach.rules import past_same_day_cut_off
from dashboard.ach.rules import value_date_problems
from dashboard.ach.states import BATCH_MACHINE
from dashboard.ach.states import EDITABLE_BATCH
from dashboard.ach.states import BatchEvent
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.approvals.kinds import ApprovalRefused
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import in_language
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.money import format_money
from dashboard.providers.hkach import new_message_id
from dashboard.statuses import status_label
from dashboard.transitions import move

T = TypeVar("T")

#: Items written per INSERT: a few hundred kB of parameters, so memory stays flat in the file size.
INSERT_CHUNK = 1000
#: SQLite's page cache while an upload writes its items (the default is 2 MiB).
SQLITE_UPLOAD_CACHE_KIB = 16 * 1024
#: Most items one request to the bank carries (HK ACH's limit).
SUBMISSION_SIZE = 1000
#: Our batch reference: a prefix and the id (``PAY00000042``), leaving room for ``-<submission>``.
REFERENCE_FORMAT = "PAY{:08d}"
#: The job that sends an approved batch (declared in ``dashboard/ach/tasks.py``).
SUBMIT_BATCH = "dashboard.ach.tasks.submit_batch_task"
_DEBTOR_ACCOUNT_DIGITS = range(1, 35)


#: What a manager does with a batch whose value date can no longer be approved.
AFTER_VALUE_DATE_REFUSAL = _l("Reject it: finance uploads the file again with another value date.")


class BatchRefused(ValueError):
    """What was asked cannot be done to the batch (the message says why, for the form); nothing changed."""


@dataclass(frozen=True)
class Uploaded:
    """What became of an upload."""

    #: The batch stored (or whose file was replaced); None when refused.
    batch_id: int | None
    #: Why the whole file was refused (its header, empty, too big, undecodable …).
    refused: Problem | None = None
    #: The reference of an earlier batch of the same file (refused unless a reason was given).
    duplicate_of: str | None = None


class _Duplicate(Exception):
    """The same file was uploaded before and no reason was given (rolls the upload back)."""

    def __init__(self, reference: str | None):
        super().__init__(reference)
        self.reference = reference


def problem_dict(problem: Problem) -> dict[str, Any]:
    """Return a problem as an item or a batch keeps it (JSON)."""
    return {
        "code": problem.code,
        "message": problem.message,
        "severity": problem.severity.value,
        "column": problem.column,
    }


#: The item columns an upload writes, in the order of :func:`_items`.
ITEM_COLUMNS = (
    "batch_id",
    "row_number",
    "employee_id",
    "payee_name",
    "payee_name_zh",
    "email",
    "bank_code",
    "branch_code",
    "account_number",
    "amount_minor",
    "currency",
    "reference",
    "instruction_id",
    "problems",
    "has_error",
    "has_warning",
    "status",
)
_VALID, _INVALID = ItemStatus.VALID.value, ItemStatus.INVALID.value
#: One encoder for every item's problems: ``json.dumps`` given an option makes a new one each call.
_JSON = json.JSONEncoder(ensure_ascii=False)


@dataclass
class _Tally:
    """Counts and the valid total of the rows stored."""

    rows: int = 0
    errors: int = 0
    warnings: int = 0
    total_minor: int = 0


def _items(
    batch_id: int, reference: str, rows: Iterable[PayrollRow], tally: _Tally
) -> Iterator[tuple[Any, ...]]:
    """Yield each row's item as the driver takes it, in :data:`ITEM_COLUMNS` order: cells as given
    (cut to their columns' lengths), its problems as JSON text; count them in ``tally`` at the end.

    One loop for the whole file: a function call per row for the item and another for its count
    cost a tenth of a second per 100,000 rows.
    """
    count = errors = warnings = total_minor = 0
    for row in rows:
        count += 1
        problems = row.problems
        # The flags as 0 or 1: sqlite3 binds a bool through its adapters, a few times slower than an int.
        if problems:
            has_error, has_warning = int(row.has_error), int(row.has_warning)
            problems_json = _JSON.encode([problem_dict(problem) for problem in problems])
            errors += has_error
            warnings += has_warning
        else:
            has_error = has_warning = 0
            problems_json = "[]"
        if not has_error:
            total_minor += row.amount_minor or 0
        yield (
            batch_id,
            row.row,
            row.employee_id[:64],
            row.payee_name[:200],
            row.payee_name_zh[:200] if row.payee_name_zh else None,
            row.email[:254] if row.email else None,
            row.bank_code[:16],
            row.branch_code[:16],
            row.account_number[:64],
            row.amount_minor,
            row.currency[:8],
            row.reference[:64],
            instruction_id(reference, row.row),
            problems_json,
            has_error,
            has_warning,
            _INVALID if has_error else _VALID,
        )
    tally.rows, tally.errors, tally.warnings, tally.total_minor = count, errors, warnings, total_minor


def _chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _store_items(session: Session, batch: AchBatch, rows: Iterable[PayrollRow]) -> _Tally:
    """Write every row as an item as it is read: no ORM object per row, memory flat in the file size.

    The driver takes the rows directly (SQLAlchemy's per-row parameter handling cost a fifth of an
    upload): PostgreSQL as one COPY (a third of the time of INSERTs of 1,000 rows for 100,000 rows,
    measured here), SQLite as INSERTs of :data:`INSERT_CHUNK` rows.
    """
    tally = _Tally()
    connection = session.connection()
    batch_id, reference = batch.id, batch.reference  # read once, not through the ORM a row
    items = _items(batch_id, reference, rows, tally)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        copying = f"COPY {AchItem.__tablename__} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        with cursor, cursor.copy(copying) as copy:
            for item in items:
                copy.write_row(item)
    else:
        # Positional parameters in the table's column order, which ITEM_COLUMNS follows.
        statement = str(
            insert(AchItem.__table__).compile(dialect=connection.dialect, column_keys=ITEM_COLUMNS)
        )
        # The item indexes take rows in random order (account numbers): SQLite's default 2 MiB page
        # cache spills within a file's first thousands of rows, so the upload gets a larger one.
        default_cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_UPLOAD_CACHE_KIB}")
        try:
            for chunk in _chunks(items, INSERT_CHUNK):
                connection.exec_driver_sql(statement, chunk)
        finally:
            connection.exec_driver_sql(f"PRAGMA cache_size = {default_cache}")
    return tally


def _date_problems(value_date: date) -> tuple[list[Problem], list[Problem]]:
    """Return the value date's errors and warnings as of now."""
    problems = value_date_problems(value_date, clock.now())
    return (
        [problem for problem in problems if problem.severity is Severity.ERROR],
        [problem for problem in problems if problem.severity is not Severity.ERROR],
    )


def value_date_refusal(value_date: date) -> str | None:
    """Return why a batch paid on ``value_date`` cannot be approved now (None: it can): an error, or
    a same-day value date past its cut-off."""
    date_errors = _date_problems(value_date)[0]
    if date_errors:
        return date_errors[0].message
    if past_same_day_cut_off(value_date, clock.now()):
        return _(
            "The value date is today and the 17:55 Hong Kong time cut-off has passed:"
            " the bank would reject the batch (TM01)."
        )
    return None


def _check_debtor_account(account: str) -> str:
    digits = account.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit() and len(digits) in _DEBTOR_ACCOUNT_DIGITS):
        raise BatchRefused(_("The debit account must be 1 to 34 digits (spaces and hyphens are ignored)."))
    return digits


def _earlier_upload(session: Session, sha256: str, batch_id: int | None) -> AchBatch | None:
    """Return the oldest batch of the same file that was not discarded (other than ``batch_id``).

    On PostgreSQL the file's advisory lock is held until the upload commits, so two uploads of one
    file at once see each other (SQLite serialises writers).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:sha256))"), {"sha256": sha256})
    statement = select(AchBatch).where(AchBatch.sha256 == sha256, AchBatch.status != BatchStatus.DISCARDED)
    if batch_id is not None:
        statement = statement.where(AchBatch.id != batch_id)
    return session.scalars(statement.order_by(AchBatch.id).limit(1)).first()


def upload(
    stream: BinaryIO,
    file_name: str,
    *,
    value_date: date,
    debtor_account: str,
    uploader_id: int,
    encoding: str | None = None,
    duplicate_reason: str | None = None,
    batch_id: int | None = None,
) -> Uploaded:
    """Read a payroll file and store it as a draft batch with one item per row, in one transaction.

    With ``batch_id`` the file replaces the items of that draft (or rejected) batch, which becomes
    a draft again. A refused file stores (and replaces) nothing.

    :param stream: the uploaded bytes (seekable; read as a stream, never whole)
    :param encoding: the uploader's choice, over the detected one
    :param duplicate_reason: why a file uploaded before is uploaded again (without it, refused)
    :raises BatchRefused: a value date that is not allowed, a bad debit account, or a batch that is
        not there or not editable
    """
    date_errors, date_warnings = _date_problems(value_date)
    if date_errors:
        raise BatchRefused(date_errors[0].message)
    account = _check_debtor_account(debtor_account)
    config = current_app.config
    reason = (duplicate_reason or "").strip() or None
    try:
        reader = read_payroll(
            stream,
            encoding=encoding,
            max_decoded_bytes=config["ACH_MAX_FILE_BYTES"],
            max_item_minor=config["ACH_MAX_ITEM_AMOUNT"],
        )
        with write_transaction(db.session) as session:
            # The reader hashed the file before reading its rows: a duplicate costs no row.
            earlier = _earlier_upload(session, reader.facts.sha256, batch_id)
            if earlier is not None and reason is None:
                raise _Duplicate(earlier.reference)
            if batch_id is None:
                # What the file says is known once it was read to the end, below.
                batch = AchBatch(status=BatchStatus.DRAFT.value, sha256="", encoding="", size_bytes=0)
                _describe(batch, file_name, value_date, account, uploader_id, reason)
                session.add(batch)
                session.flush()
                batch.reference = REFERENCE_FORMAT.format(batch.id)
                before = None
            else:
                batch = _editable(session, batch_id)
                before = _audited_state(batch)
                session.execute(delete(AchItem).where(AchItem.batch_id == batch.id))
                _describe(batch, file_name, value_date, account, uploader_id, reason)
            tally = _store_items(session, batch, reader)
            facts = reader.facts
            batch.sha256, batch.encoding, batch.size_bytes = facts.sha256, facts.encoding, facts.size_bytes
            batch.currency = facts.currency
            batch.item_count, batch.error_count = tally.rows, tally.errors
            batch.warning_count, batch.total_minor = tally.warnings, tally.total_minor
            batch.file_problems = [
                problem_dict(p) for p in [*facts.problems, *date_warnings] if p.row is None
            ]
            batch.duplicate_reason = reason if earlier is not None else None
            _record_upload(session, batch, before, earlier)
            stored_id = batch.id
    except FileRefused as refused:
        return Uploaded(batch_id=None, refused=refused.problem)
    except _Duplicate as duplicate:
        return Uploaded(batch_id=None, duplicate_of=duplicate.reference)
    return Uploaded(batch_id=stored_id)


def _describe(
    batch: AchBatch, file_name: str, value_date: date, account: str, uploader_id: int, reason: str | None
) -> None:
    """Set what the upload form says of a batch; a new file clears any earlier submission and decision
    (the audit log and the timeline keep them)."""
    batch.file_name = file_name
    batch.value_date = value_date
    batch.debtor_account = account
    batch.uploaded_by_id = uploader_id
    batch.duplicate_reason = reason
    batch.warnings_acknowledged_by_id = batch.warnings_acknowledged_at = None
    batch.submitted_for_approval_at = batch.submitted_by_id = None
    batch.decided_by_id = batch.decided_at = batch.decision_comment = None


def _audited_state(batch: AchBatch) -> dict[str, Any]:
    return {
        "reference": batch.reference,
        "status": batch.status,
        "file_name": batch.file_name,
        "sha256": batch.sha256,
        "value_date": batch.value_date.isoformat() if batch.value_date else None,
        "debtor_account_number": batch.debtor_account,
        "currency": batch.currency,
        "items": batch.item_count,
        "total_minor": batch.total_minor,
        "errors": batch.error_count,
        "warnings": batch.warning_count,
    }


def _record_upload(session: Session, batch: AchBatch, before: dict | None, earlier: AchBatch | None) -> None:
    """Audit the upload (or the replacement) and write it on the batch's timeline."""
    after = _audited_state(batch)
    if earlier is not None:
        after["duplicate_of"] = earlier.reference
        after["duplicate_reason"] = batch.duplicate_reason
    actor = batch.uploaded_by_id
    if before is None:
        action, kind = "ach.batch_uploaded", EventKind.CREATED
    else:
        action, kind = "ach.batch_file_replaced", EventKind.ACH_FILE_REPLACED
    audit.record(
        session, action, object_type=ObjectType.ACH_BATCH, object_id=batch.id, before=before, after=after
    )
    if earlier is not None:
        audit.record(
            session,
            "ach.duplicate_file_allowed",
            object_type=ObjectType.ACH_BATCH,
            object_id=batch.id,
            after={"duplicate_of": earlier.reference, "reason": batch.duplicate_reason},
        )
    summary = {"file_name": batch.file_name, "items": batch.item_count, "errors": batch.error_count}
    record_event(session, ObjectType.ACH_BATCH, batch.id, kind, summary, actor_id=actor)
    if before is not None:
        move(session, batch, BATCH_MACHINE, BatchEvent.FILE_REPLACED, actor_id=actor)


def _editable(session: Session, batch_id: int) -> AchBatch:
    """Return the batch, locked, if its file may still change (a draft, or a rejected batch)."""
    batch = locked(session, AchBatch, batch_id)
    if batch is None:
        raise BatchRefused(_("There is no such batch."))
    if batch.status not in EDITABLE_BATCH:
        raise BatchRefused(
            _("The batch is %(status)s: its file can no longer change.", status=status_label(batch.status))
        )
    return batch


def discard(batch_id: int, actor_id: int) -> None:
    """Throw away a draft (or rejected) batch; nothing was sent and nothing will be.

    :raises BatchRefused: no such batch, or it went further than a draft
    """
    with write_transaction(db.session) as session:
        batch = _editable(session, batch_id)
        move(session, batch, BATCH_MACHINE, BatchEvent.DISCARDED, actor_id=actor_id)
        audit.record(
            session,
            "ach.batch_discarded",
            object_type=ObjectType.ACH_BATCH,
            object_id=batch.id,
            after=_audited_state(batch),
        )


def warnings_to_acknowledge(batch: AchBatch) -> int:
    """Return how many warnings (rows and file) need an acknowledgement before submission."""
    file_warnings = sum(1 for p in batch.file_problems or () if p["severity"] != Severity.ERROR.value)
    return batch.warning_count + file_warnings


def errors_blocking(batch: AchBatch) -> int:
    """Return how many errors (rows and file) stop the batch from being submitted."""
    file_errors = sum(1 for p in batch.file_problems or () if p["severity"] == Severity.ERROR.value)
    return batch.error_count + file_errors


def submit_for_approval(
    batch_id: int, actor_id: int, *, warnings_acknowledged: bool, sha256: str | None = None
) -> None:
    """Ask a manager to approve a draft batch that has no errors; record the warnings' acknowledgement.

    The value date is checked again as of now (a draft may wait past its cut-off or its day).

    :param sha256: the file the user looked at (the batch page's form always gives it); a file
        replaced since is refused
    :raises BatchRefused: not a draft, another file, errors, no payee, warnings not acknowledged,
        or a value date no longer allowed
    """
    with write_transaction(db.session) as session:
        batch = locked(session, AchBatch, batch_id)
        if batch is None:
            raise BatchRefused(_("There is no such batch."))
        if batch.status != BatchStatus.DRAFT:
            raise BatchRefused(
                _(
                    "The batch is %(status)s: only a draft can be submitted.",
                    status=status_label(batch.status),
                )
            )
        if sha256 is not None and sha256 != batch.sha256:
            raise BatchRefused(
                _(
                    "The file changed since you opened it: %(file)s was uploaded since. "
                    "Reload the page and check it before submitting.",
                    file=batch.file_name,
                )
            )
        date_errors, date_warnings = _date_problems(batch.value_date)
        if date_errors:
            raise BatchRefused(
                _(
                    "%(problem)s Upload the file again with another value date.",
                    problem=date_errors[0].message,
                )
            )
        batch.file_problems = [
            *(p for p in batch.file_problems or () if p["column"] != "value_date"),
            *(problem_dict(p) for p in date_warnings),
        ]
        errors = errors_blocking(batch)
        if errors:
            raise BatchRefused(
                _("The batch has %(count)s error(s): upload a corrected file first.", count=errors)
            )
        if batch.item_count == 0:
            raise BatchRefused(_("The batch has no payee to pay."))
        warnings = warnings_to_acknowledge(batch)
        if warnings and not warnings_acknowledged:
            raise BatchRefused(
                _("Acknowledge the %(count)s warning(s) before submitting the batch.", count=warnings)
            )
        now = clock.now()
        if warnings:
            batch.warnings_acknowledged_by_id, batch.warnings_acknowledged_at = actor_id, now
        batch.submitted_for_approval_at, batch.submitted_by_id = now, actor_id
        move(session, batch, BATCH_MACHINE, BatchEvent.SUBMITTED_FOR_APPROVAL, actor_id=actor_id)
        audit.record(
            session,
            "ach.batch_submitted",
            object_type=ObjectType.ACH_BATCH,
            object_id=batch.id,
            after={**_audited_state(batch), "warnings_acknowledged": warnings},
        )


def _waiting(session: Session, batch_id: int, actor_id: int) -> AchBatch:
    """Return the batch, locked, if ``actor_id`` may decide on it now."""
    batch = locked(session, AchBatch, batch_id)
    if batch is None:
        raise ApprovalRefused(_("there is no such batch"))
    if batch.status != BatchStatus.AWAITING_APPROVAL:
        raise ApprovalRefused(_("it is %(status)s already", status=status_label(batch.status)))
    if actor_id in (batch.uploaded_by_id, batch.submitted_by_id, batch.warnings_acknowledged_by_id):
        raise ApprovalRefused(_("you uploaded or submitted this batch: another manager must decide on it"))
    return batch


def _decide(session: Session, batch: AchBatch, event: BatchEvent, actor_id: int, comment: str | None) -> None:
    batch.decided_by_id, batch.decided_at, batch.decision_comment = actor_id, clock.now(), comment
    move(session, batch, BATCH_MACHINE, event, actor_id=actor_id, summary={"comment": comment})


def approve_batch(batch_id: int, *, actor_id: int, comment: str | None = None) -> AchBatch:
    """Approve a waiting batch (never one's own upload or submission): store its submissions, each with its
    message id, and queue the submit job once that is committed.

    A value date no longer allowed (passed, or today past the cut-off) leaves it waiting; the
    refusal is audited.

    :raises ApprovalRefused: not waiting, the approver uploaded or submitted it, or its value date is no
        longer allowed
    """
    with write_transaction(db.session) as session:
        batch = _waiting(session, batch_id, actor_id)
        why = value_date_refusal(batch.value_date)
        if why:
            with in_language("en"):  # the audit log keeps English
                why_in_english = value_date_refusal(batch.value_date)
            audit.record(
                session,
                "ach.batch_approval_failed",
                object_type=ObjectType.ACH_BATCH,
                object_id=batch.id,
                after={"why": why_in_english, "comment": comment},
            )
        else:
            _decide(session, batch, BatchEvent.APPROVED, actor_id, comment)
            _split_into_submissions(session, batch)
            audit.record(
                session,
                "ach.batch_approved",
                object_type=ObjectType.ACH_BATCH,
                object_id=batch.id,
                after={**_audited_state(batch), "comment": comment},
            )
            enqueue_after_commit(session, SUBMIT_BATCH, batch.id)
    if why:
        raise ApprovalRefused(
            _(
                "its value date is no longer allowed: %(why)s %(next_step)s",
                why=why,
                next_step=AFTER_VALUE_DATE_REFUSAL,
            )
        )
    return db.session.get(AchBatch, batch_id)


def _split_into_submissions(session: Session, batch: AchBatch) -> None:
    """Store the batch's requests: up to :data:`SUBMISSION_SIZE` items each, in row order."""
    rows = session.execute(
        select(AchItem.row_number, AchItem.amount_minor)
        .where(AchItem.batch_id == batch.id, AchItem.status == ItemStatus.VALID)
        .order_by(AchItem.row_number)
    ).all()
    for number, start in enumerate(range(0, len(rows), SUBMISSION_SIZE), start=1):
        part = rows[start : start + SUBMISSION_SIZE]
        submission = AchSubmission(
            batch_id=batch.id,
            number=number,
            reference=f"{batch.reference}-{number}",
            message_id=new_message_id(),
            first_row=part[0].row_number,
            last_row=part[-1].row_number,
            item_count=len(part),
            total_minor=sum(row.amount_minor for row in part),
        )
        session.add(submission)
        session.flush()
        session.execute(
            update(AchItem)
            .where(
                AchItem.batch_id == batch.id,
                AchItem.status == ItemStatus.VALID,
                AchItem.row_number.between(submission.first_row, submission.last_row),
            )
            .values(submission_id=submission.id)
        )


def reject_batch(batch_id: int, *, actor_id: int, comment: str | None = None) -> AchBatch:
    """Reject a waiting batch (never one's own upload or submission): nothing is sent; finance may correct it.

    :raises ApprovalRefused: not waiting, or the manager uploaded or submitted it
    """
    if not comment:
        raise ApprovalRefused(_("say why it is rejected: finance reads it"))
    with write_transaction(db.session) as session:
        batch = _waiting(session, batch_id, actor_id)
        _decide(session, batch, BatchEvent.REJECTED, actor_id, comment)
        audit.record(
            session,
            "ach.batch_rejected",
            object_type=ObjectType.ACH_BATCH,
            object_id=batch.id,
            after={**_audited_state(batch), "comment": comment},
        )
    return db.session.get(AchBatch, batch_id)


def batch_summary(batch: AchBatch) -> str:
    """Say in one sentence what approving a batch does (the approvals queue)."""
    total = format_money(batch.total) if batch.total is not None else _("nothing")
    return _(
        "Pay %(count)s employee(s) %(total)s by HK ACH from account %(account)s with value date %(day)s.",
        count=batch.valid_count,
        total=total,
        account=batch.debtor_account,
        day=batch.value_date.strftime("%d %b %Y"),
    )
