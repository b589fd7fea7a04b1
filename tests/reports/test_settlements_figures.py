"""The settled-vs-paid section's figures, against hand-counted batches and rollups, and its links."""

from __future__ import annotations

import re
from datetime import date

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.reports.models import DailyTotal
from dashboard.reports.settlements_figures import settlement_figures
from dashboard.reports.settlements_figures import settlement_tables
from dashboard.settlements import service
from dashboard.settlements.records import EntryKind
from tests.reports.helpers import report_filters
from tests.settlements.files import Batch

DAY = date(2026, 1, 5)
NEXT = date(2026, 1, 6)
LATER = date(2026, 1, 7)


def _imported(batch: Batch, *, summary: bool = True) -> None:
    files = (batch.details(), batch.summary()) if summary else (batch.details(),)
    for name, stream in files:
        assert service.import_report("antom", stream, name, source="upload").refused is None


def _paid(day: date, provider: str, status: str, currency: str, count: int, minor: int) -> None:
    db.session.add(
        DailyTotal(
            day=day, provider=provider, status=status, currency=currency, count=count, amount_minor=minor
        )
    )


def make_history() -> None:
    """Two HKD batches and a CNY one settled on the 5th; a batch of the 6th still waiting for its
    summary; one of the 7th; and what was paid on the 5th."""
    first = Batch(reference="20260105HKD0000000001")
    first.add(EntryKind.PAYMENT, "P1", None, 12001, 144).add(EntryKind.PAYMENT, "P2", None, 8000, 96)
    first.add(EntryKind.REFUND, "R1", None, -2000, original="P0")
    _imported(first)
    _imported(Batch(reference="20260105HKD0000000002").add(EntryKind.PAYMENT, "P3", None, 5000, 60))
    _imported(
        Batch(reference="20260105CNY0000000003", currency="CNY").add(
            EntryKind.PAYMENT, "P4", None, 30000, 300
        )
    )
    _imported(
        Batch(reference="20260106HKD0000000004", day=NEXT).add(EntryKind.PAYMENT, "P5", None, 100, 1),
        summary=False,
    )
    _imported(Batch(reference="20260107HKD0000000005", day=LATER).add(EntryKind.PAYMENT, "P6", None, 900, 9))
    _paid(DAY, "antom", "succeeded", "HKD", 2, 20000)
    _paid(DAY, "antom", "settled", "HKD", 1, 4000)
    _paid(DAY, "antom", "failed", "HKD", 1, 9999)  # never paid
    _paid(DAY, "worldpay", "succeeded", "HKD", 1, 700)
    _paid(NEXT, "antom", "succeeded", "HKD", 1, 100)
    db.session.flush()


def test_a_range_without_settlement_batches_shows_nothing(app_ctx):
    _paid(DAY, "antom", "succeeded", "HKD", 2, 20000)
    shown = settlement_figures(db.session, report_filters(DAY, DAY))
    assert shown.days == ()
    assert settlement_tables(shown)[0].rows == []


def test_each_day_and_currency_puts_paid_against_settled(app_ctx):
    make_history()

    shown = settlement_figures(db.session, report_filters(DAY, NEXT))

    cny, hkd = shown.days  # by currency; the 6th's batch waits for its summary: nothing settled yet
    assert (hkd.day, hkd.currency, hkd.batches, hkd.payments) == (DAY, "HKD", 2, 4)
    assert hkd.paid == Money(20000 + 4000 + 700, "HKD")
    assert hkd.gross == Money(12001 + 8000 - 2000 + 5000, "HKD")
    assert hkd.fees == Money(144 + 96 + 60, "HKD")
    assert hkd.net == Money(23001 - 300, "HKD")
    assert hkd.difference == Money(24700 - 23001, "HKD")
    assert (cny.paid, cny.gross, cny.fees, cny.net) == (
        Money(0, "CNY"),
        Money(30000, "CNY"),
        Money(300, "CNY"),
        Money(29700, "CNY"),
    )
    assert cny.difference == Money(-30000, "CNY")
    assert len(shown.charts()) == 2  # one per currency: amounts are never added across them


def test_the_provider_and_currency_filters_narrow_both_sides(app_ctx):
    make_history()

    [hkd] = settlement_figures(db.session, report_filters(DAY, DAY, provider="antom", currency="HKD")).days

    assert (hkd.paid, hkd.payments, hkd.difference) == (Money(24000, "HKD"), 3, Money(999, "HKD"))
    assert settlement_figures(db.session, report_filters(DAY, LATER, provider="worldpay")).days == ()


def test_each_day_opens_its_batches_and_the_table_downloads(app, client, login_as):
    with app.test_request_context():
        make_history()
        db.session.commit()
        [table] = settlement_tables(
            settlement_figures(db.session, report_filters(DAY, LATER, provider="antom", currency="HKD"))
        )
    login_as("manager")
    assert [row[0].text for row in table.rows] == ["2026-01-05", "2026-01-07"]
    for row in table.rows:
        listed = client.get(row[0].url).get_data(as_text=True)
        # The day's batches of every currency: the two in HKD and the one in CNY on the 5th.
        expected = 3 if row[0].text == "2026-01-05" else 1
        assert len(re.findall(r'<tr id="settlement-\d+"', listed)) == expected
    args = "range=custom&day_from=2026-01-05&day_to=2026-01-07"
    section = client.get(f"/reports/settlements?{args}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert 'href="/settlements/?day=2026-01-05">2026-01-05</a>' in section
    assert section.count('role="img"') == 2
    download = client.get(f"/reports/settlements/settled-vs-paid.csv?{args}&currency=HKD")
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Day,Currency,Paid,Payments paid,Settled gross,Fees,Net settled,Difference"
    assert lines[1] == "2026-01-05,HKD,247.00,4,230.01,3.00,227.01,16.99"
    assert lines[2] == "2026-01-07,HKD,0.00,0,9.00,0.09,8.91,-9.00"
