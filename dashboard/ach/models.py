"""Payroll batches: the uploaded file as a batch, its items (one per payee row) and its submissions."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard.ach.states import BatchStatus
from dashboard.ach.states import ItemStatus
from dashboard.ach.states import SubmissionStatus
from dashboard.db import CLIPPED
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import ProviderTracked
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.kinds import TimelineRef
from dashboard.money import Money

#: Longest bank batch id (the bank's ``payment information`` id is at most 20 characters).
MAX_REFERENCE = 20


def instruction_id(reference: str, row: int) -> str:
    """Return our id of the transfer of row ``row`` of batch ``reference``: ``PAY00000042-17``."""
    return f"{reference}-{row}"


def row_of(instruction: str) -> int | None:
    """Return the row number an :func:`instruction_id` names (None: not one of ours)."""
    _, dash, row = instruction.rpartition("-")
    return int(row) if dash and row.isascii() and row.isdigit() else None


class AchBatch(ProviderTracked, Base):
    """One uploaded payroll file: what was read, who decided, how far the bank has paid it."""

    __tablename__ = "ach_batches"
    __table_args__ = (
        one_of("status", [status.value for status in BatchStatus]),
        CheckConstraint(
            "decided_by_id IS NULL OR uploaded_by_id IS NULL OR decided_by_id <> uploaded_by_id",
            name="not_self_approved",
        ),
        Index("ix_ach_batches_created_at_id", "created_at", "id"),
        Index("ix_ach_batches_status_created_at_id", "status", "created_at", "id"),
        Index("ix_ach_batches_uploaded_by_id_created_at_id", "uploaded_by_id", "created_at", "id"),
        Index("ix_ach_batches_value_date", "value_date"),
        # The same file uploaded again; and the approvals queue, oldest first.
        Index("ix_ach_batches_sha256", "sha256"),
        Index(
            "ix_ach_batches_status_submitted_for_approval_at_id", "status", "submitted_for_approval_at", "id"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: Our batch reference, made from the id (``PAY00000042``); its submissions' bank batch ids start with it.
    reference: Mapped[str | None] = mapped_column(String(MAX_REFERENCE), unique=True)
    #: The uploaded file's name, as the browser gave it.
    file_name: Mapped[str] = mapped_column(String(255), info=CLIPPED)
    #: SHA-256 of the raw uploaded bytes (the same file uploaded twice is refused unless a reason is given).
    sha256: Mapped[str] = mapped_column(String(64))
    #: The encoding the file was read with, as the page names it (``UTF-8 with BOM``, ``Big5-HKSCS`` …).
    encoding: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    #: The day payees are paid.
    value_date: Mapped[date] = mapped_column(Date)
    #: Our account the batch is paid from.
    debtor_account: Mapped[str] = mapped_column(String(34))
    #: The batch's one currency (None when no row has a valid one).
    currency: Mapped[str | None] = mapped_column(String(3))
    #: Payee rows read, and the sum of the valid amounts in minor units of ``currency``.
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Rows with an error (block submission) and with a warning (need an acknowledgement).
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Problems of the whole file (mixed currencies, the value date …): ``{code, message, severity, column}``.
    file_problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When finance submitted it for approval and who (never its approver), and who acknowledged its
    #: warnings then.
    submitted_for_approval_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    warnings_acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    warnings_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The manager who approved or rejected it (never the uploader), when, and what they wrote.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(String(1000), info=CLIPPED)
    #: Why finance uploaded a file that had been uploaded before (the override of the duplicate rule).
    duplicate_reason: Mapped[str | None] = mapped_column(String(500), info=CLIPPED)
    #: A :class:`BatchStatus` value.
    status: Mapped[str] = mapped_column(String(24), default=BatchStatus.DRAFT.value)
    #: Progress at the bank: items final, items paid and their sum, items rejected.
    final_count: Mapped[int] = mapped_column(Integer, default=0)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def total(self) -> Money | None:
        """The sum of the valid amounts (None without a currency)."""
        return Money(self.total_minor, self.currency) if self.currency else None

    @property
    def paid(self) -> Money | None:
        """What the bank has paid so far (None without a currency)."""
        return Money(self.paid_minor, self.currency) if self.currency else None

    @property
    def decision(self) -> str | None:
        """What the manager decided, ``"Approved"`` or ``"Rejected"`` (None before a decision); a
        discarded batch that was decided on had been rejected."""
        if self.decided_by_id is None:
            return None
        return "Rejected" if self.status in (BatchStatus.REJECTED, BatchStatus.DISCARDED) else "Approved"

    @property
    def valid_count(self) -> int:
        """Return how many items have no error."""
        return self.item_count - self.error_count

    @property
    def timeline(self) -> TimelineRef:
        """The batch's own timeline (its submissions write there too)."""
        return TimelineRef(ObjectType.ACH_BATCH, self.id)

    def __repr__(self) -> str:
        return f"<AchBatch {self.id} {self.reference} {self.item_count} items {self.status}>"


class AchSubmission(ProviderTracked, Base):
    """One request to the bank: at most 1,000 consecutive items of a batch, under its own message id."""

    __tablename__ = "ach_submissions"
    __table_args__ = (
        one_of("status", [status.value for status in SubmissionStatus]),
        UniqueConstraint("batch_id", "number", name="uq_ach_submissions_batch_id_number"),
        # The poll job and the sweeper: open submissions, least recently touched first.
        Index("ix_ach_submissions_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ach_batches.id", ondelete="CASCADE"))
    #: 1, 2, … in row order.
    number: Mapped[int] = mapped_column(Integer)
    #: The bank's batch id of this request: the batch reference and the number (``PAY00000042-2``).
    reference: Mapped[str] = mapped_column(String(MAX_REFERENCE), unique=True)
    #: The idempotency key (a UUID), committed before the request is first sent.
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    #: The rows it carries (``first_row`` to ``last_row``, both included).
    first_row: Mapped[int] = mapped_column(Integer)
    last_row: Mapped[int] = mapped_column(Integer)
    item_count: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    #: A :class:`SubmissionStatus` value.
    status: Mapped[str] = mapped_column(String(24), default=SubmissionStatus.PENDING.value)
    #: The bank's last word on the whole request (its status, or the code it answered), as it wrote it.
    group_status: Mapped[str | None] = mapped_column(String(16))
    #: When it was first sent, and how many status reports were asked for since (the poll delay grows).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    polls: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def timeline(self) -> TimelineRef:
        """Its batch's timeline."""
        return TimelineRef(
            ObjectType.ACH_BATCH,
            self.batch_id,
            {"submission": self.number},
            EventKind.ACH_SUBMISSION_STATUS_CHANGED,
        )

    def __repr__(self) -> str:
        return f"<AchSubmission {self.id} {self.reference} {self.item_count} items {self.status}>"


class AchItem(Base):
    """One payee row of a batch: as read from the file, its problems, then what the bank did with it.

    Written and updated in bulk (Core statements of many rows at once), never one object per row.
    """

    __tablename__ = "ach_items"
    __table_args__ = (
        one_of("status", [status.value for status in ItemStatus], bulk=True),
        # Row order (the items page, the result file, a request's transfers, the bank's news by row).
        UniqueConstraint("batch_id", "row_number", name="uq_ach_items_batch_id_row_number"),
        # The preview: rows with errors, then rows with warnings, each in row order. Only the few rows
        # with problems are indexed (an upload writes nothing here for a clean row); the clean rest is
        # read in row order through the unique constraint. Each WHERE is written as the queries' own
        # ``is_(True)`` renders, which SQLite needs to use the index.
        *(
            Index(
                f"ix_ach_items_batch_id_row_number_{flag}",
                "batch_id",
                "row_number",
                sqlite_where=text(f"{flag} IS 1"),
                postgresql_where=text(f"{flag} IS true"),
            )
            for flag in ("has_error", "has_warning")
        ),
        Index("ix_ach_items_batch_id_status_row_number", "batch_id", "status", "row_number"),
        # Whether a request sent to the bank still has an item that is not final (each poll).
        Index("ix_ach_items_submission_id_status", "submission_id", "status"),
        # The batches list's search by employee, payee name (prefix, in any case) or account number.
        Index("ix_ach_items_employee_id", "employee_id"),
        Index("ix_ach_items_payee_name_upper", text("upper(payee_name)")),
        Index("ix_ach_items_account_number", "account_number"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ach_batches.id", ondelete="CASCADE"))
    #: The row number a spreadsheet shows (the header is row 1).
    row_number: Mapped[int] = mapped_column(Integer)
    employee_id: Mapped[str] = mapped_column(String(64))
    payee_name: Mapped[str] = mapped_column(String(200))
    payee_name_zh: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    bank_code: Mapped[str] = mapped_column(String(16))
    branch_code: Mapped[str] = mapped_column(String(16))
    account_number: Mapped[str] = mapped_column(String(64))
    #: Minor units of the batch's currency; None when the amount in the file is not valid.
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: The currency as the row gave it (upper case; the batch's own when valid).
    currency: Mapped[str] = mapped_column(String(8))
    #: The payee's reference (≤ 20 when valid; the end-to-end id the bank carries).
    reference: Mapped[str] = mapped_column(String(64))
    #: Our id of the transfer (≤ 20): the batch reference and the row number (``PAY00000042-17``), which
    #: the bank's status reports name.
    instruction_id: Mapped[str] = mapped_column(String(MAX_REFERENCE))
    #: Every problem of the row as ``{code, message, severity, column}``.
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    has_error: Mapped[bool] = mapped_column(Boolean, default=False)
    has_warning: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The request that carried it (set when the batch is approved).
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("ach_submissions.id", ondelete="SET NULL"))
    #: An :class:`ItemStatus` value.
    status: Mapped[str] = mapped_column(String(16))
    #: Why the bank did not pay it: its reason code and what that means.
    reason_code: Mapped[str | None] = mapped_column(String(16))
    reason_text: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    #: When it became paid or rejected.
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<AchItem {self.id} batch {self.batch_id} row {self.row_number} {self.status}>"
