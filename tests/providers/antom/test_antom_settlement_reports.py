"""Reading Antom's settlement reports (antom.md §7): files built from the documented columns."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from dashboard.providers.antom.settlement_reports import DETAIL_COLUMNS
from dashboard.providers.antom.settlement_reports import SUMMARY_COLUMNS
from dashboard.providers.antom.settlement_reports import TRANSACTION_COLUMNS
from dashboard.providers.antom.settlement_reports import classify
from dashboard.providers.antom.settlement_reports import read_report
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import ReportFile
from dashboard.settlements.records import ReportFormatError
from dashboard.settlements.records import ReportKind

BATCH = "20260105HKD0A1B2C3D4E"
DETAILS = ReportFile(
    ReportKind.SETTLEMENT_DETAILS, f"settlementItems_HKD_{BATCH}_000.csv", None, BATCH, "HKD"
)
SUMMARY = ReportFile(
    ReportKind.SETTLEMENT_SUMMARY, f"settlementSummary_HKD_{BATCH}_000.csv", None, BATCH, "HKD"
)
TRANSACTIONS = ReportFile(
    ReportKind.TRANSACTIONS, "transactionItems_20260105_000.csv", date(2026, 1, 5), None
)


def detail(**values: str) -> dict[str, str]:
    """A settlement details row of one HKD payment, with ``values`` changed."""
    return {
        "settlementBatchId": BATCH,
        "customerId": "2188120000000001",
        "PSP": "ALIPAY_HK",
        "transactionType": "PAYMENT",
        "transactionId": "202601051940108001001888C0000000000001",
        "transactionRequestId": "pay-1",
        "paymentMethodType": "ALIPAY_HK",
        "transactionCreationTime": "2026-01-05T10:00:00+08:00",
        "transactionCompletionTime": "2026-01-05T10:00:02+08:00",
        "transactionAmountValue": "120.01",
        "transactionCurrency": "HKD",
        "settlementAmountValue": "118.57",
        "settlementCurrency": "HKD",
        "feeAmountValue": "1.44",
        "feeCurrency": "HKD",
        "settlementInitiatedDate": "2026-01-05",
        **values,
    }


def csv_file(
    columns: tuple[str, ...], rows: list[dict[str, str]], end: bool = True, bom: bool = False
) -> io.BytesIO:
    lines = [",".join(columns)] + [",".join(row.get(column, "") for column in columns) for row in rows]
    if end:
        lines.append("<END>")
    text = "\r\n".join(lines) + "\r\n"
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def read(report: ReportFile, stream: io.BytesIO) -> list:
    return list(read_report(stream, report))


def test_a_details_row_becomes_an_entry_in_minor_units_and_utc():
    [entry] = read(DETAILS, csv_file(DETAIL_COLUMNS, [detail()]))

    assert entry.kind is EntryKind.PAYMENT and entry.batch_id == BATCH
    assert (entry.amount_minor, entry.fee_minor, entry.settlement_amount_minor) == (12001, 144, 11857)
    assert (entry.currency, entry.settlement_currency, entry.request_id) == ("HKD", "HKD", "pay-1")
    assert entry.created_at == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    assert entry.settled_on == date(2026, 1, 5) and entry.line == 2


@pytest.mark.parametrize(
    ("currency", "value", "minor"),
    [
        ("JPY", "1200", 1200),
        ("HKD", "12.5", 1250),
        ("HKD", "-0.01", -1),
        ("KWD", "1.005", 1005),
        ("BHD", "2", 2000),
    ],
)
def test_major_units_become_minor_units_with_the_currencys_exponent(currency, value, minor):
    row = detail(
        transactionAmountValue=value,
        transactionCurrency=currency,
        settlementAmountValue="",
        feeAmountValue="",
    )
    [entry] = read(DETAILS, csv_file(DETAIL_COLUMNS, [row]))
    assert entry.amount_minor == minor


@pytest.mark.parametrize(("currency", "value"), [("JPY", "1200.5"), ("HKD", "12.501"), ("KWD", "1.0001")])
def test_more_decimals_than_the_currency_has_is_an_error_never_rounded(currency, value):
    row = detail(
        transactionAmountValue=value,
        transactionCurrency=currency,
        settlementAmountValue="",
        feeAmountValue="",
    )
    with pytest.raises(ReportFormatError, match="more decimals") as error:
        read(DETAILS, csv_file(DETAIL_COLUMNS, [detail(), row]))
    assert error.value.line == 3


@pytest.mark.parametrize("value", ["1 200.00", "1e3", "HK$1", " ", "12."])
def test_an_amount_not_written_in_major_units_is_an_error(value):
    with pytest.raises(ReportFormatError, match="transactionAmountValue") as error:
        read(DETAILS, csv_file(DETAIL_COLUMNS, [detail(transactionAmountValue=value)]))
    assert error.value.line == 2


def test_a_missing_end_line_is_an_error_naming_where_the_file_stops():
    stream = csv_file(DETAIL_COLUMNS, [detail(), detail(transactionId="2")], end=False)
    records = read_report(stream, DETAILS)
    assert next(records).line == 2  # rows stream before the end is known …
    with pytest.raises(ReportFormatError, match="without its <END> line") as error:
        list(records)  # … so the caller stores them in one transaction it can roll back
    assert error.value.line == 4


def test_a_truncated_file_is_an_error_naming_the_cut_line():
    text = csv_file(DETAIL_COLUMNS, [detail(), detail()], end=False).getvalue()
    cut = io.BytesIO(text[: len(text) - 60])
    with pytest.raises(ReportFormatError, match="fields where the header has") as error:
        read(DETAILS, cut)
    assert error.value.line == 3


def test_a_bom_is_read_past_and_windows_line_ends_are_fine():
    [entry] = read(DETAILS, csv_file(DETAIL_COLUMNS, [detail()], bom=True))
    assert entry.amount_minor == 12001


def test_lines_after_the_end_line_are_an_error():
    stream = io.BytesIO(csv_file(DETAIL_COLUMNS, [detail()]).getvalue() + b"late,row\r\n")
    with pytest.raises(ReportFormatError, match="more after the <END> line") as error:
        read(DETAILS, stream)
    assert error.value.line == 4


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"", 1, "header line is missing"),
        (
            ",".join(c for c in DETAIL_COLUMNS if c != "transactionId").encode() + b"\n<END>\n",
            1,
            "lacks transactionId",
        ),
        (b"\xff\xfe" + b"x" * 10, 1, "not UTF-8"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(content, line, words):
    with pytest.raises(ReportFormatError, match=words) as error:
        read(DETAILS, io.BytesIO(content))
    assert error.value.line == line


def test_a_row_of_another_batch_or_an_unknown_type_is_an_error():
    with pytest.raises(ReportFormatError, match="is not the file's batch"):
        read(DETAILS, csv_file(DETAIL_COLUMNS, [detail(settlementBatchId="OTHER")]))
    with pytest.raises(ReportFormatError, match="CAPTURE"):
        read(DETAILS, csv_file(DETAIL_COLUMNS, [detail(transactionType="CAPTURE")]))


def test_an_empty_summary_day_has_a_total_of_zero():
    row = {
        "settlementBatchId": BATCH,
        "summaryType": "TOTAL",
        "count": "0",
        "settlementAmountValue": "0.00",
        "settlementCurrency": "HKD",
        "feeAmountValue": "0.00",
        "settlementInitiatedDate": "2026-01-05",
    }
    [total] = read(SUMMARY, csv_file(SUMMARY_COLUMNS, [row]))
    assert (total.kind, total.count, total.settlement_amount_minor, total.fee_minor) == (
        EntryKind.TOTAL,
        0,
        0,
        0,
    )


def test_summary_fee_rows_are_fee_adjustments():
    rows = [
        {"settlementBatchId": BATCH, "summaryType": kind, "count": "1", "settlementAmountValue": "-5.00",
         "settlementCurrency": "HKD", "feeAmountValue": "5.00", "settlementInitiatedDate": "2026-01-05"}
        for kind in ("ADJUSTMENT_FEE", "SETTLEMENT_FEE")
    ]  # fmt: skip
    totals = read(SUMMARY, csv_file(SUMMARY_COLUMNS, rows))
    assert [(total.kind, total.fee_minor) for total in totals] == [(EntryKind.FEE_ADJUSTMENT, 500)] * 2


def test_a_transactions_row_keeps_its_status_and_may_be_unsettled():
    row = detail(status="PROCESSING", settlementBatchId="", settlementAmountValue="", settlementCurrency="",
                 feeAmountValue="", feeCurrency="")  # fmt: skip
    [entry] = read(TRANSACTIONS, csv_file(TRANSACTION_COLUMNS, [row]))
    assert (entry.status, entry.batch_id, entry.settlement_amount_minor, entry.fee_minor) == (
        "PROCESSING",
        None,
        None,
        0,
    )


@pytest.mark.parametrize(
    ("name", "kind", "day", "batch", "currency"),
    [
        ("transactionItems_20260105_000.csv", ReportKind.TRANSACTIONS, date(2026, 1, 5), None, None),
        (f"settlementItems_HKD_{BATCH}_000.csv", ReportKind.SETTLEMENT_DETAILS, None, BATCH, "HKD"),
        (f"settlementSummary_USD_{BATCH}_001.csv", ReportKind.SETTLEMENT_SUMMARY, None, BATCH, "USD"),
    ],
)
def test_file_names_say_which_report_they_are(name, kind, day, batch, currency):
    assert classify(name) == ReportFile(kind, name, day, batch, currency)


@pytest.mark.parametrize(
    "name", ["transactionItems_20261345_000.csv", "payroll.csv", "settlementSummary_HKD_.csv"]
)
def test_other_names_are_not_antom_reports(name):
    assert classify(name) is None
