"""What a provider's settlement reports say, in the domain's words.

A provider's report reader (``providers/<name>/settlement_reports.py``) turns its files into these;
the import and the reconciliation read nothing else. Amounts are integer minor units of their
currency; times are UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from datetime import datetime

from dashboard.i18n import gettext as _


class ReportKind(enum.StrEnum):
    """Which of a provider's three settlement reports a file is."""

    #: Every transaction of one day with its latest status (generated the day after).
    TRANSACTIONS = "transactions"
    #: Every transaction in one settlement batch, with its fee and net amount.
    SETTLEMENT_DETAILS = "settlement_details"
    #: The totals of one settlement batch per kind of entry, and the batch's total.
    SETTLEMENT_SUMMARY = "settlement_summary"


class EntryKind(enum.StrEnum):
    """What a report's row records."""

    PAYMENT = "payment"
    REFUND = "refund"
    CANCEL = "cancel"
    REFUND_REVERSAL = "refund_reversal"
    PAYMENT_REVERSAL = "payment_reversal"
    DISPUTE = "dispute"
    #: A fee charged or corrected outside any one transaction (summary rows only).
    FEE_ADJUSTMENT = "fee_adjustment"
    #: The batch's total (summary rows only).
    TOTAL = "total"


class TransactionState(enum.StrEnum):
    """Where a transaction stands in the provider's transactions report (its latest status)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: No final result yet.
    PROCESSING = "processing"
    #: A payment cancelled (before or after it was paid).
    CANCELLED = "cancelled"


class ReportFormatError(ValueError):
    """A report file is not in the provider's format; ``line`` is 1-based (0 for the whole file)."""

    def __init__(self, line: int, message: str):
        super().__init__(_("line %(line)s: %(message)s", line=line, message=message) if line else message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class ReportFile:
    """One report file as a provider names and serves it."""

    kind: ReportKind
    #: The file's own name (unique per provider).
    name: str
    #: The transaction day (transactions), local to the provider; None when the name does not say
    #: it (a batch's files are named by batch: their rows give the settlement day).
    day: date | None
    #: The settlement batch the file belongs to (details, summary); None for transactions.
    batch_id: str | None
    #: The settlement currency the name gives (details, summary); None for transactions.
    currency: str | None = None


@dataclass(frozen=True)
class SettlementEntry:
    """One row of a transactions or settlement-details report."""

    kind: EntryKind
    #: The provider's settlement batch (None in a transactions report until it is settled).
    batch_id: str | None
    #: The provider's id of the transaction (payment id, or the refund's / cancel's own id).
    provider_id: str
    #: The provider's id of the payment a refund, cancel or reversal belongs to.
    original_provider_id: str | None
    #: Our request id the transaction was made with (payment or refund request id), if the row has it.
    request_id: str | None
    #: The provider's latest status of the transaction (transactions report only).
    status: TransactionState | None
    #: Transaction amount, signed as the provider signs it, and its currency.
    amount_minor: int
    currency: str
    #: Net settled amount and the settlement currency (None when not settled yet).
    settlement_amount_minor: int | None
    settlement_currency: str | None
    #: The provider's fee on this row (0 when none) and its currency.
    fee_minor: int
    fee_currency: str | None
    created_at: datetime | None
    completed_at: datetime | None
    #: The day the provider began settling it (settlement details).
    settled_on: date | None
    #: The report line it came from (1-based), for messages.
    line: int


@dataclass(frozen=True)
class SettlementTotal:
    """One row of a settlement-summary report: a batch's total of one kind of entry."""

    kind: EntryKind
    batch_id: str
    count: int
    #: Net settled amount of the kind, in the settlement currency.
    settlement_amount_minor: int
    settlement_currency: str
    fee_minor: int
    settled_on: date | None
    line: int
