"""The Antom simulator's settlement reports: written from what it processed, served per day, and the
differences it injects on demand."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import requests

from dashboard.money import Money
from dashboard.providers.antom import RefundRequest
from dashboard.providers.antom.settlement_reports import read_report
from dashboard.providers.antom.settlement_reports import reports_client
from dashboard.sandbox.antom_reports import fee_of
from dashboard.settlements.records import EntryKind
from dashboard.settlements.records import ReportKind
from tests.sandbox import helpers

#: The fake clock starts at 10:00 GMT+8 on this day.
DAY = date(2026, 1, 5)


@pytest.fixture
def folder(sandbox):
    return reports_client(sandbox.app)


@pytest.fixture
def day_of_business(sandbox, antom, run_due):
    """Three payments (one cancelled, one partly refunded) and a failed one, all on DAY."""
    token = helpers.token(antom, sandbox.url).access_token
    kept = helpers.pay(antom, token, 12001)
    refunded = helpers.pay(antom, token, 5001)
    cancelled = helpers.pay(antom, token, 3001)
    failed = helpers.pay(antom, token, 4011)
    refund = antom.refund(RefundRequest("rf-1", refunded.payment_id, Money(2001, "HKD")))
    antom.cancel(payment_id=cancelled.payment_id)
    run_due()
    assert failed.outcome == "F" and refund.outcome == "S"
    return {"kept": kept, "refunded": refunded, "cancelled": cancelled, "failed": failed, "refund": refund}


def _records(folder, report):
    with folder.download(DAY, report.name) as stream:
        return list(read_report(stream, report))


def _reports(folder):
    return {report.kind: report for report in folder.list_day(DAY)}


def test_a_day_has_no_folder_until_it_is_over(sandbox, folder, day_of_business, fake_clock):
    assert folder.list_day(DAY) == []
    fake_clock.advance(hours=14)  # 00:00 GMT+8 the next day: the compressed delay is not over yet
    assert folder.list_day(DAY) == []
    fake_clock.advance(minutes=1)
    assert {report.kind for report in folder.list_day(DAY)} == set(ReportKind)


def test_the_reports_say_what_the_simulator_processed(sandbox, folder, day_of_business, fake_clock):
    fake_clock.advance(days=1)
    reports = _reports(folder)
    assert reports[ReportKind.SETTLEMENT_SUMMARY].currency == "HKD"

    details = _records(folder, reports[ReportKind.SETTLEMENT_DETAILS])
    by_kind = {(entry.kind, entry.provider_id): entry for entry in details}
    kept = by_kind[EntryKind.PAYMENT, day_of_business["kept"].payment_id]
    assert (kept.amount_minor, kept.fee_minor, kept.settlement_amount_minor) == (12001, 144, 12001 - 144)
    assert kept.request_id == day_of_business["kept"].payment_request_id and kept.settled_on == DAY
    refund = by_kind[EntryKind.REFUND, day_of_business["refund"].refund_id]
    assert (refund.amount_minor, refund.fee_minor, refund.original_provider_id) == (
        -2001,
        0,
        day_of_business["refunded"].payment_id,
    )
    cancel = by_kind[EntryKind.CANCEL, day_of_business["cancelled"].payment_id]
    assert (cancel.amount_minor, cancel.fee_minor) == (-3001, -fee_of(3001))
    assert day_of_business["failed"].payment_id not in {entry.provider_id for entry in details}
    assert len(details) == 5  # three payments, a refund, a cancel

    totals = {total.kind: total for total in _records(folder, reports[ReportKind.SETTLEMENT_SUMMARY])}
    net = sum(entry.settlement_amount_minor for entry in details)
    assert (totals[EntryKind.TOTAL].count, totals[EntryKind.TOTAL].settlement_amount_minor) == (5, net)
    assert totals[EntryKind.PAYMENT].count == 3

    transactions = _records(folder, reports[ReportKind.TRANSACTIONS])
    statuses = {entry.provider_id: entry.status for entry in transactions if entry.kind is EntryKind.PAYMENT}
    assert statuses[day_of_business["failed"].payment_id] == "FAIL"
    assert statuses[day_of_business["cancelled"].payment_id] == "CANCELLED"


def test_a_quiet_day_still_has_a_summary_with_a_total_of_zero(sandbox, folder, fake_clock):
    fake_clock.advance(days=1)
    reports = _reports(folder)
    assert _records(folder, reports[ReportKind.SETTLEMENT_DETAILS]) == []
    [total] = _records(folder, reports[ReportKind.SETTLEMENT_SUMMARY])
    assert (total.kind, total.count, total.settlement_amount_minor) == (EntryKind.TOTAL, 0, 0)


def test_the_files_are_antoms_csv_with_an_end_line(sandbox, folder, day_of_business, fake_clock):
    fake_clock.advance(days=1)
    report = _reports(folder)[ReportKind.SETTLEMENT_DETAILS]
    text = requests.get(folder.folder(DAY) + report.name, timeout=5).text
    lines = text.splitlines()
    assert lines[-1] == "<END>" and lines[0].startswith("settlementBatchId,customerId,")
    row = next(csv.DictReader(io.StringIO("\n".join(lines[:-1]))))
    assert (
        row["transactionAmountValue"].count(".") == 1
        and len(row["transactionAmountValue"].split(".")[1]) == 2
    )


def test_differences_are_injected_on_the_days_the_setting_names(
    sandbox, folder, day_of_business, fake_clock, monkeypatch
):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES", DAY.isoformat())
    fake_clock.advance(days=1)
    reports = _reports(folder)
    details = _records(folder, reports[ReportKind.SETTLEMENT_DETAILS])
    totals = {total.kind: total for total in _records(folder, reports[ReportKind.SETTLEMENT_SUMMARY])}
    ours = {
        day_of_business[name].payment_id: day_of_business[name] for name in ("kept", "refunded", "cancelled")
    }
    payments = [entry for entry in details if entry.kind is EntryKind.PAYMENT]

    strangers = [entry for entry in payments if entry.provider_id not in ours]
    assert len(strangers) == 1 and strangers[0].request_id.startswith("unknown-")
    off = [
        entry
        for entry in payments
        if entry.provider_id in ours and entry.amount_minor != ours[entry.provider_id].amount.minor
    ]
    assert [entry.amount_minor - ours[entry.provider_id].amount.minor for entry in off] == [1]
    assert len(payments) == 3  # one of ours left out, one stranger added
    assert totals[EntryKind.PAYMENT].count == 4  # the summary counts the one left out
    [reversal] = [entry for entry in details if entry.kind is EntryKind.REFUND_REVERSAL]
    assert (reversal.provider_id, reversal.amount_minor) == (day_of_business["refund"].refund_id, 2001)
    assert totals[EntryKind.FEE_ADJUSTMENT].fee_minor == 500
    # The same seed, the same differences.
    assert _records(folder, reports[ReportKind.SETTLEMENT_DETAILS]) == details
