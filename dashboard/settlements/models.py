"""Settlement: the report files imported, their rows, the batches they settle and what reconciling found."""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import CLIPPED
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.providers.registry import CODES as PROVIDERS
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import ReportKind


class BatchState(enum.StrEnum):
    """Where reconciling a settlement batch stands."""

    #: One of its two files (details, summary) is not imported yet.
    WAITING = "waiting"
    #: Every row matched ours and the totals agree with the summary.
    BALANCED = "balanced"
    #: Some difference has no note yet.
    DIFFERENCES = "differences"
    #: Every difference has a note from the person who resolved it.
    RESOLVED = "resolved"


class Outcome(enum.StrEnum):
    """What reconciling found for one row of a batch (or one of ours the batch lacks)."""

    MATCHED = "matched"
    #: Our payment, refund or cancel has another amount or currency.
    AMOUNT_MISMATCH = "amount_mismatch"
    #: The provider settled something we have no record of.
    MISSING_OURS = "missing_ours"
    #: We believe it settled that day; the provider's batch does not have it.
    MISSING_THEIRS = "missing_theirs"
    #: The provider settled it in a state ours disagrees with (a reversal, a failed payment it settled).
    STATUS_MISMATCH = "status_mismatch"
    #: A fee charged or corrected outside any transaction (a summary's fee row).
    FEE = "fee"
    #: The batch's details do not add up to its summary's total.
    TOTALS_MISMATCH = "totals_mismatch"


#: The outcomes that are differences someone has to explain.
DIFFERENCES = tuple(outcome.value for outcome in Outcome if outcome is not Outcome.MATCHED)


class SettlementFile(Base):
    """One report file imported once: the same provider, name and bytes import once."""

    __tablename__ = "settlement_files"
    __table_args__ = (
        one_of("provider", PROVIDERS),
        one_of("kind", [kind.value for kind in ReportKind]),
        UniqueConstraint("provider", "name", "sha256", name="uq_settlement_files_provider_name_sha256"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), info=CLIPPED)
    kind: Mapped[str] = mapped_column(String(24))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    #: The transaction day (transactions) or the settlement day its rows give (details, summary).
    day: Mapped[date | None] = mapped_column(Date)
    #: The provider's settlement batch id (details, summary).
    batch_reference: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: ``upload`` (staff) or ``fetched`` (the daily job).
    source: Mapped[str] = mapped_column(String(8))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class SettlementEntry(Base):
    """One row of a transactions or settlement-details report (records.SettlementEntry, stored)."""

    __tablename__ = "settlement_entries"
    __table_args__ = (
        one_of("kind", [kind.value for kind in EntryKind], bulk=True),
        Index("ix_settlement_entries_file_id_line", "file_id", "line"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("settlement_files.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    batch_reference: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(128))
    original_provider_id: Mapped[str | None] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str | None] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    settlement_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    settlement_currency: Mapped[str | None] = mapped_column(String(3))
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_on: Mapped[date | None] = mapped_column(Date)


class SettlementTotal(Base):
    """One row of a settlement-summary report (records.SettlementTotal, stored)."""

    __tablename__ = "settlement_totals"
    __table_args__ = (
        one_of("kind", [kind.value for kind in EntryKind]),
        Index("ix_settlement_totals_file_id_line", "file_id", "line"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("settlement_files.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    batch_reference: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    settlement_amount_minor: Mapped[int] = mapped_column(BigInteger)
    settlement_currency: Mapped[str] = mapped_column(String(3))
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_on: Mapped[date | None] = mapped_column(Date)


class SettlementBatch(Base):
    """One provider settlement batch: its two files, its totals and how reconciling it went."""

    __tablename__ = "settlement_batches"
    __table_args__ = (
        one_of("provider", PROVIDERS),
        one_of("state", [state.value for state in BatchState]),
        UniqueConstraint("provider", "reference", name="uq_settlement_batches_provider_reference"),
        # The list: newest first, all of them or by state or provider.
        Index("ix_settlement_batches_state_id", "state", "id"),
        Index("ix_settlement_batches_provider_id", "provider", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    #: The provider's settlement batch id.
    reference: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    #: The settlement day (the provider's local day).
    day: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default=BatchState.WAITING.value)
    details_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_files.id", ondelete="SET NULL")
    )
    summary_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_files.id", ondelete="SET NULL")
    )
    #: Sums of the details' rows: transaction amounts, fees, net settled; and their count.
    gross_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The summary's TOTAL row.
    summary_net_minor: Mapped[int | None] = mapped_column(BigInteger)
    summary_fee_minor: Mapped[int | None] = mapped_column(BigInteger)
    summary_count: Mapped[int | None] = mapped_column(Integer)
    difference_count: Mapped[int] = mapped_column(Integer, default=0)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class SettlementResult(Base):
    """What reconciling found for one row of a batch, or one of ours the batch lacks; notes resolve it."""

    __tablename__ = "settlement_results"
    __table_args__ = (
        one_of("outcome", [outcome.value for outcome in Outcome], bulk=True),
        Index("ix_settlement_results_batch_id_outcome_id", "batch_id", "outcome", "id"),
        Index("ix_settlement_results_payment_id", "payment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("settlement_batches.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(16))
    #: The details row (None: one of ours the batch lacks, or a summary row).
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_entries.id", ondelete="SET NULL"))
    #: What the row records (EntryKind), or what of ours is missing from the batch.
    kind: Mapped[str] = mapped_column(String(24))
    #: The provider's id of the transaction, as the row (or our record) gives it.
    provider_id: Mapped[str | None] = mapped_column(String(128))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id", ondelete="SET NULL"))
    cancel_id: Mapped[int | None] = mapped_column(ForeignKey("cancels.id", ondelete="SET NULL"))
    currency: Mapped[str] = mapped_column(String(3))
    #: The amount the provider gives (signed as it signs it) and ours (None when there is none).
    their_minor: Mapped[int | None] = mapped_column(BigInteger)
    our_minor: Mapped[int | None] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(1000), info=CLIPPED)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
