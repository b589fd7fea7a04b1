"""Antom's settlement reports (antom.md §7): their file names, columns and the strict streaming reader.

Every report is UTF-8 CSV: a header line of field names, one line per row, and a last line that is
literally ``<END>``. Amounts are in **major** units (``12.50``), converted here to minor units with
the currency's exponent (antom.md §4.1); a value with more decimals than the currency has is an
error, never rounded. Columns are found by name, so a report with more columns than these reads too.

Signs (the documents do not show them; [U], the simulator writes the same): a transaction's and its
net settlement amount are negative when money goes back to the customer (REFUND, CANCEL,
PAYMENT_REVERSAL, DISPUTE); ``feeAmountValue`` is positive for a fee charged and negative for a fee
given back; net = transaction amount - fee.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import BinaryIO

import requests
from flask import Flask

from dashboard.config import sandbox_provider_url
from dashboard.i18n import gettext as _
from dashboard.money import EXPONENTS
from dashboard.money import Money
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.http import build_session
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import ReportFile
from dashboard.settlements.records import ReportFormatError
from dashboard.settlements.records import ReportKind
from dashboard.settlements.records import SettlementEntry
from dashboard.settlements.records import SettlementTotal
from dashboard.settlements.records import TransactionState

#: The last line of every report.
END = "<END>"
#: Antom's local zone: report days and the folder dates are GMT+8 days.
GMT8 = timezone(timedelta(hours=8))
#: The merchant id the simulator serves its folder under (``ANTOM_MERCHANT_ID`` unset, SANDBOX=1).
SANDBOX_MERCHANT_ID = "2188120000000001"

#: Transaction details columns, in the field summary's order (D:reconcile/field_summary.md).
TRANSACTION_COLUMNS = (
    "settlementBatchId", "customerId", "PSP", "ARN", "referenceMerchantId", "referenceStoreId",
    "transactionType", "transactionId", "originalTransactionId", "transactionRequestId",
    "originalTransactionRequestId", "referenceTransactionId", "orderDescription", "paymentMethodType",
    "wallet", "status", "transactionCreationTime", "transactionUpdateTime", "transactionCompletionTime",
    "productCode", "transactionAmountValue", "transactionCurrency", "convertedTransactionAmountValue",
    "convertedCurrency", "settlementAmountValue", "settlementCurrency", "quoteCurrencyPair", "quotePrice",
    "feeAmountValue", "feeCurrency", "taxFeeAmountValue", "taxFeeCurrency",
)  # fmt: skip
#: Settlement details columns: the transaction details' without orderDescription and status, plus
#: settlementInitiatedDate (field summary).
DETAIL_COLUMNS = (
    *(column for column in TRANSACTION_COLUMNS if column not in {"orderDescription", "status"}),
    "settlementInitiatedDate",
)
#: Settlement summary columns (field summary: batch, merchant, PSP, type, count, net, fee, date).
SUMMARY_COLUMNS = (
    "settlementBatchId", "customerId", "PSP", "summaryType", "count", "settlementAmountValue",
    "settlementCurrency", "feeAmountValue", "feeCurrency", "settlementInitiatedDate",
)  # fmt: skip

#: The columns a row cannot be read without.
_NEEDED = {
    ReportKind.TRANSACTIONS: (
        "settlementBatchId", "transactionType", "transactionId", "originalTransactionId",
        "transactionRequestId", "status", "transactionAmountValue", "transactionCurrency",
        "settlementAmountValue", "settlementCurrency", "feeAmountValue", "feeCurrency",
        "transactionCreationTime", "transactionCompletionTime",
    ),
    ReportKind.SETTLEMENT_DETAILS: (
        "settlementBatchId", "transactionType", "transactionId", "originalTransactionId",
        "transactionRequestId", "transactionAmountValue", "transactionCurrency", "settlementAmountValue",
        "settlementCurrency", "feeAmountValue", "feeCurrency", "transactionCreationTime",
        "transactionCompletionTime", "settlementInitiatedDate",
    ),
    ReportKind.SETTLEMENT_SUMMARY: (
        "settlementBatchId", "summaryType", "count", "settlementAmountValue", "settlementCurrency",
        "feeAmountValue", "settlementInitiatedDate",
    ),
}  # fmt: skip

#: transactionType → what the row records (the types an Auto Debit merchant settles).
TRANSACTION_TYPES = {
    "PAYMENT": EntryKind.PAYMENT,
    "REFUND": EntryKind.REFUND,
    "CANCEL": EntryKind.CANCEL,
    "REFUND_REVERSAL": EntryKind.REFUND_REVERSAL,
    "PAYMENT_REVERSAL": EntryKind.PAYMENT_REVERSAL,
    "DISPUTE": EntryKind.DISPUTE,
}
#: summaryType → what the summary row totals; fees charged outside a transaction are fee adjustments.
SUMMARY_TYPES = {
    **TRANSACTION_TYPES,
    "SETTLEMENT_FEE": EntryKind.FEE_ADJUSTMENT,
    "ADJUSTMENT_FEE": EntryKind.FEE_ADJUSTMENT,
    "TOTAL": EntryKind.TOTAL,
}
#: A transactions report's ``status`` → where the transaction stands (antom.md §7: the latest status;
#: the values are the payment's and the refund's statuses, §4).
STATUSES = {
    "SUCCESS": TransactionState.SUCCEEDED,
    "FAIL": TransactionState.FAILED,
    "PROCESSING": TransactionState.PROCESSING,
    "CANCELLED": TransactionState.CANCELLED,
}
#: The words each kind is written with (the first one for a fee adjustment).
TYPE_WORDS = {kind: word for word, kind in reversed(SUMMARY_TYPES.items())}

_NAMES = (
    (ReportKind.TRANSACTIONS, re.compile(r"transactionItems_(?P<day>\d{8})_(?P<seq>\d{3})\.csv")),
    (
        ReportKind.SETTLEMENT_DETAILS,
        re.compile(
            r"settlementItems_(?P<currency>[A-Z]{3})_(?P<batch>[A-Za-z0-9-]{1,64})_(?P<seq>\d{3})\.csv"
        ),
    ),
    (
        ReportKind.SETTLEMENT_SUMMARY,
        re.compile(
            r"settlementSummary_(?P<currency>[A-Z]{3})_(?P<batch>[A-Za-z0-9-]{1,64})_(?P<seq>\d{3})\.csv"
        ),
    ),
)
#: An amount in major units: a sign, digits, and decimals after a point (the point never alone).
_AMOUNT = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def transactions_name(day: date, sequence: int = 0) -> str:
    """Return the transaction details file name of ``day``: ``transactionItems_20261130_000.csv``."""
    return f"transactionItems_{day:%Y%m%d}_{sequence:03d}.csv"


def details_name(currency: str, batch_id: str, sequence: int = 0) -> str:
    """Return a settlement details file name (antom.md §7: named like the summary)."""
    return f"settlementItems_{currency}_{batch_id}_{sequence:03d}.csv"


def summary_name(currency: str, batch_id: str, sequence: int = 0) -> str:
    """Return a settlement summary file name: ``settlementSummary_HKD_<batch>_000.csv``."""
    return f"settlementSummary_{currency}_{batch_id}_{sequence:03d}.csv"


def classify(name: str) -> ReportFile | None:
    """Return what a file's name says it is, or None for a name that is no Antom report."""
    for kind, pattern in _NAMES:
        found = pattern.fullmatch(name)
        if found is None:
            continue
        if kind is ReportKind.TRANSACTIONS:
            try:
                day = datetime.strptime(found["day"], "%Y%m%d").date()
            except ValueError:
                return None
            return ReportFile(kind, name, day, None, None)
        return ReportFile(kind, name, None, found["batch"], found["currency"])
    return None


def major(minor: int, currency: str) -> str:
    """Write minor units as a report writes them: major units with the currency's decimals."""
    money = Money(minor, currency)
    return f"{money.decimal:f}"


def report_time(moment: datetime | None) -> str:
    """Write a time as the reports do: ISO 8601 in GMT+8 (antom.md §4.3)."""
    return "" if moment is None else moment.astimezone(GMT8).isoformat(timespec="seconds")


# -- reading -----------------------------------------------------------------------------------------


@dataclass
class _Row:
    """One data line: its fields by column name and its line number."""

    values: dict[str, str]
    line: int

    def text(self, column: str) -> str | None:
        return self.values.get(column, "").strip() or None

    def required(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            raise ReportFormatError(self.line, _("%(column)s is empty", column=column))
        return value

    def currency(self, column: str) -> str:
        value = self.required(column)
        if value not in EXPONENTS:
            raise ReportFormatError(
                self.line,
                _("%(column)s %(value)s is not a currency we know", column=column, value=repr(value)),
            )
        return value

    def amount(self, column: str, currency: str | None, required: bool = True) -> int | None:
        value = self.text(column)
        if value is None:
            if required:
                raise ReportFormatError(self.line, _("%(column)s is empty", column=column))
            return None
        if currency is None:
            raise ReportFormatError(self.line, _("%(column)s has an amount but no currency", column=column))
        found = _AMOUNT.fullmatch(value)
        if found is None:
            raise ReportFormatError(
                self.line,
                _("%(column)s %(value)s is not an amount in major units", column=column, value=repr(value)),
            )
        sign, whole, fraction = found.groups(default="")
        places = EXPONENTS[currency]
        if len(fraction) > places:
            raise ReportFormatError(
                self.line,
                _(
                    "%(column)s %(value)s has more decimals than %(currency)s has; it is not rounded",
                    column=column,
                    value=repr(value),
                    currency=currency,
                ),
            )
        minor = int(whole) * 10**places + (int(fraction.ljust(places, "0")) if places else 0)
        return -minor if sign else minor

    def time(self, column: str) -> datetime | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ReportFormatError(
                self.line, _("%(column)s %(value)s is not an ISO 8601 time", column=column, value=repr(value))
            ) from None
        if moment.tzinfo is None:
            raise ReportFormatError(
                self.line, _("%(column)s %(value)s has no UTC offset", column=column, value=repr(value))
            )
        return moment.astimezone(UTC)

    def day(self, column: str) -> date | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
        except ValueError:
            raise ReportFormatError(
                self.line, _("%(column)s %(value)s is not a date", column=column, value=repr(value))
            ) from None

    def count(self, column: str) -> int:
        value = self.required(column)
        if not value.isascii() or not value.isdigit():
            raise ReportFormatError(
                self.line, _("%(column)s %(value)s is not a count", column=column, value=repr(value))
            )
        return int(value)


def _lines(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of a UTF-8 CSV stream (a BOM is dropped), strictly decoded."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=True)
    try:
        for fields in reader:
            yield reader.line_num, fields
    except UnicodeDecodeError:
        raise ReportFormatError(reader.line_num + 1, _("the file is not UTF-8 text")) from None
    except csv.Error as exc:
        raise ReportFormatError(reader.line_num, _("not CSV: %(error)s", error=exc)) from None
    finally:
        if not stream.closed:
            text.detach()  # the caller's stream stays open for the caller to close


def _rows(stream: BinaryIO, kind: ReportKind) -> Iterator[_Row]:
    """Yield a report's data rows after checking its header; raise unless ``<END>`` ends it."""
    lines = _lines(stream)
    first = next(lines, None)
    if first is None:
        raise ReportFormatError(1, _("the file is empty: the header line is missing"))
    header = [name.strip() for name in first[1]]
    missing = [column for column in _NEEDED[kind] if column not in header]
    if missing:
        raise ReportFormatError(1, _("the header lacks %(columns)s", columns=", ".join(missing)))
    if len(set(header)) != len(header):
        raise ReportFormatError(1, _("the header names a column twice"))
    last = 1
    for number, fields in lines:
        if fields == [END]:
            extra = next(lines, None)
            if extra is not None:
                raise ReportFormatError(extra[0], _("there is more after the %(end)s line", end=END))
            return
        if len(fields) != len(header):
            raise ReportFormatError(
                number,
                _(
                    "%(fields)s fields where the header has %(columns)s (a cut or damaged line)",
                    fields=len(fields),
                    columns=len(header),
                ),
            )
        last = number
        yield _Row(dict(zip(header, fields, strict=True)), number)
    raise ReportFormatError(last + 1, _("the file ends without its %(end)s line (it was cut short)", end=END))


def _entry(row: _Row, kind: ReportKind) -> SettlementEntry:
    word = row.required("transactionType")
    entry_kind = TRANSACTION_TYPES.get(word)
    if entry_kind is None:
        raise ReportFormatError(
            row.line,
            _("transactionType %(word)s is not one an Auto Debit merchant settles", word=repr(word)),
        )
    currency = row.currency("transactionCurrency")
    settlement_currency = row.text("settlementCurrency")
    if settlement_currency is not None:
        settlement_currency = row.currency("settlementCurrency")
    fee_currency = row.currency("feeCurrency") if row.text("feeCurrency") else settlement_currency
    fee = row.amount("feeAmountValue", fee_currency, required=False)
    return SettlementEntry(
        kind=entry_kind,
        batch_id=row.text("settlementBatchId"),
        provider_id=row.required("transactionId"),
        original_provider_id=row.text("originalTransactionId"),
        request_id=row.text("transactionRequestId"),
        status=_status(row) if kind is ReportKind.TRANSACTIONS else None,
        amount_minor=row.amount("transactionAmountValue", currency),
        currency=currency,
        settlement_amount_minor=row.amount("settlementAmountValue", settlement_currency, required=False),
        settlement_currency=settlement_currency,
        fee_minor=fee or 0,
        fee_currency=fee_currency,
        created_at=row.time("transactionCreationTime"),
        completed_at=row.time("transactionCompletionTime"),
        settled_on=row.day("settlementInitiatedDate") if kind is not ReportKind.TRANSACTIONS else None,
        line=row.line,
    )


def _status(row: _Row) -> TransactionState:
    word = row.required("status")
    state = STATUSES.get(word)
    if state is None:
        raise ReportFormatError(
            row.line, _("status %(word)s is not a status of a transaction", word=repr(word))
        )
    return state


def _total(row: _Row) -> SettlementTotal:
    word = row.required("summaryType")
    kind = SUMMARY_TYPES.get(word)
    if kind is None:
        raise ReportFormatError(
            row.line, _("summaryType %(word)s is not one an Auto Debit merchant settles", word=repr(word))
        )
    currency = row.currency("settlementCurrency")
    return SettlementTotal(
        kind=kind,
        batch_id=row.required("settlementBatchId"),
        count=row.count("count"),
        settlement_amount_minor=row.amount("settlementAmountValue", currency),
        settlement_currency=currency,
        fee_minor=row.amount("feeAmountValue", currency, required=False) or 0,
        settled_on=row.day("settlementInitiatedDate"),
        line=row.line,
    )


def read_report(stream: BinaryIO, report: ReportFile) -> Iterator[SettlementEntry | SettlementTotal]:
    """Stream a report's rows as records, checking the format as it goes.

    The last record comes only once ``<END>`` was read: a caller that stores records as they come
    must do so in one transaction and roll it back when this raises.

    :raises ReportFormatError: the file is not in Antom's format (its line is named)
    """
    for row in _rows(stream, report.kind):
        if report.kind is ReportKind.SETTLEMENT_SUMMARY:
            record: SettlementEntry | SettlementTotal = _total(row)
        else:
            record = _entry(row, report.kind)
        if report.batch_id is not None and record.batch_id != report.batch_id:
            raise ReportFormatError(
                row.line,
                _(
                    "settlementBatchId %(found)s is not the file's batch %(expected)s",
                    found=repr(record.batch_id),
                    expected=repr(report.batch_id),
                ),
            )
        yield record


# -- fetching ----------------------------------------------------------------------------------------


class ReportsClient:
    """Lists and downloads a day's report files from Antom's folder ``/v1/settlements/<merchant>/<date>/``.

    Antom delivers by SFTP or the Dashboard; this reads the same folder over HTTP(S), as the
    simulator serves it (or any location that serves the folder that way).
    """

    def __init__(self, base_url: str, merchant_id: str, session: requests.Session | None = None):
        if not base_url or not merchant_id:
            raise ProviderConfigError("Antom reports need ANTOM_REPORTS_URL and ANTOM_MERCHANT_ID")
        self.base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self._session = session or build_session(read_timeout=60.0)

    def folder(self, day: date) -> str:
        """Return the URL of a day's folder."""
        return f"{self.base_url}/v1/settlements/{self.merchant_id}/{day:%Y%m%d}/"

    def _get(self, url: str, stream: bool = False) -> requests.Response:
        try:
            response = self._session.get(url, stream=stream)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Antom reports: {exc.__class__.__name__}") from None
        if response.status_code == 404:
            response.close()
            raise LookupError(url)
        if response.status_code != 200:
            response.close()
            raise ProviderUnavailable(f"Antom reports answered HTTP {response.status_code}")
        return response

    def list_day(self, day: date) -> list[ReportFile]:
        """Return the reports in a day's folder (an empty list when the folder is not there yet)."""
        try:
            response = self._get(self.folder(day))
        except LookupError:
            return []
        names = (line.strip() for line in response.text.splitlines())
        return [report for name in names if name and (report := classify(name)) is not None]

    def download(self, day: date, name: str) -> BinaryIO:
        """Return a report file's bytes as a stream (the caller closes it)."""
        response = self._get(self.folder(day) + name, stream=True)
        response.raw.decode_content = True
        # Left open at its end, so a reader wrapped around it can let go of it (the caller closes it).
        response.raw.auto_close = False
        return response.raw


def reports_client(app: Flask) -> ReportsClient:
    """Build the reports client from ``ANTOM_REPORTS_URL`` and ``ANTOM_MERCHANT_ID`` (the simulator's
    folder while SANDBOX=1 and they are unset)."""
    config = app.config
    if config.get("SANDBOX"):
        return ReportsClient(
            sandbox_provider_url(config, "ANTOM_REPORTS_URL", "/antom"),
            config.get("ANTOM_MERCHANT_ID") or SANDBOX_MERCHANT_ID,
        )
    return ReportsClient(config.get("ANTOM_REPORTS_URL") or "", config.get("ANTOM_MERCHANT_ID") or "")
