"""The Payments section's figures against hand-computed ones (see ``a_day_of_payments``)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.reports.payments_figures import Activity
from dashboard.reports.payments_figures import Rate
from dashboard.reports.payments_figures import TimeToFinal
from dashboard.reports.payments_figures import payment_figures
from dashboard.reports.payments_figures import payment_tables
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange
from dashboard.reports.tables import Link
from tests.reports.payment_history import a_day_of_payments
from tests.reports.payment_history import at

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def figures_for(first: date, last: date, **filters):
    return payment_figures(
        db.session, ReportFilters(ReportRange(RangeKey.CUSTOM, first, last, HONG_KONG), **filters)
    )


@pytest.fixture
def history(app_ctx, fake_clock):
    made = a_day_of_payments(fake_clock)
    fake_clock.set(at("2026-03-03 08:00:00"))
    return made


@pytest.fixture
def committed_history(app, client, fake_clock):
    """The same payments, committed outside any request (pages read them in requests of their own)."""
    with app.test_request_context():
        made = {
            name: (payment.id, payment.request_id) for name, payment in a_day_of_payments(fake_clock).items()
        }
        db.session.commit()
    fake_clock.set(at("2026-03-03 08:00:00"))
    return made


def test_an_empty_range_has_no_activity_rates_or_times(history):
    figures = figures_for(date(2026, 1, 1), date(2026, 1, 31), currency="USD")
    assert len(figures.periods) == 31 and not figures.hourly
    assert figures.activity == []
    assert figures.provider_rates == figures.wallet_rates == figures.times_to_final == []
    assert figures.stuck == [] and figures.stuck_total == 0
    assert all(table.rows == [] for table in payment_tables(figures))


def test_days_count_payments_on_their_hong_kong_creation_day_and_never_add_currencies(history):
    figures = figures_for(date(2026, 2, 28), date(2026, 3, 2))
    assert figures.periods == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert figures.activity == [
        # Created at 23:59:59.999999 on 1 March, succeeded after midnight, settled on 3 March: 1 March.
        Activity("2026-03-01", "antom", "HKD", 1, 1000),
        Activity("2026-03-02", "antom", "HKD", 4, 3000),
        Activity("2026-03-02", "antom", "JPY", 1, 0),
        Activity("2026-03-02", "worldpay", "USD", 1, 0),
    ]
    assert figures.counts_by_provider() == {"antom": [0, 1, 5], "worldpay": [0, 0, 1]}
    assert figures.paid_by_currency() == {"HKD": [0, 1000, 3000], "JPY": [0, 0, 0], "USD": [0, 0, 0]}
    table = {t.name: t for t in payment_tables(figures)}["activity"]
    assert table.columns == (
        "Day", "Payments, Antom", "Payments, Worldpay", "Paid in HKD", "Paid in JPY", "Paid in USD"
    )  # fmt: skip
    assert table.rows[1] == ("2026-03-01", 1, 0, Money(1000, "HKD"), Money(0, "JPY"), Money(0, "USD"))


def test_success_rates_are_paid_of_finished_by_provider_and_by_wallet_in_either_spelling(history):
    figures = figures_for(date(2026, 2, 28), date(2026, 3, 2))
    assert figures.provider_rates == [Rate("Antom", 2, 5), Rate("Worldpay", 0, 1)]
    # AlipayHK: Antom's settled, expired and succeeded ones and Worldpay's failed alipay_hk one.
    assert figures.wallet_rates == [Rate("AlipayHK", 2, 4), Rate("GCash", 0, 2)]
    assert [rate.percent for rate in figures.provider_rates] == [40.0, 0.0]


def test_median_and_p95_time_to_final_are_bucket_bounds_of_the_cumulative_counts(history):
    # Antom took 4, 30, 65, 1 and 200 s (buckets 5, 50, 100, 1, 200); Worldpay 60 s (bucket 100).
    figures = figures_for(date(2026, 2, 28), date(2026, 3, 2))
    assert figures.times_to_final == [
        TimeToFinal("Antom", 5, 50, 200),
        TimeToFinal("Worldpay", 1, 100, 100),
        TimeToFinal("All providers", 6, 50, 200),
    ]
    table = {t.name: t for t in payment_tables(figures)}["time-to-final"]
    assert table.rows[0] == ("Antom", 5, "≤ 50 s", "≤ 200 s")


def test_a_day_or_two_is_charted_per_hong_kong_hour_from_the_payments(history):
    figures = figures_for(date(2026, 3, 1), date(2026, 3, 2))
    assert figures.hourly and len(figures.periods) == 48
    assert figures.periods[0] == "01 Mar 00:00" and figures.periods[-1] == "02 Mar 23:00"
    assert figures.activity == [
        Activity("01 Mar 23:00", "antom", "HKD", 1, 1000),
        Activity("02 Mar 00:00", "antom", "HKD", 2, 0),
        Activity("02 Mar 00:00", "worldpay", "USD", 1, 0),
        Activity("02 Mar 09:00", "antom", "JPY", 1, 0),
        Activity("02 Mar 10:00", "antom", "HKD", 1, 0),
        Activity("02 Mar 11:00", "antom", "HKD", 1, 3000),
    ]
    assert sum(figures.counts_by_provider()["antom"]) == 6


def test_a_single_payment_day_respects_the_provider_and_currency_filters(history):
    figures = figures_for(date(2026, 3, 2), date(2026, 3, 2), provider="worldpay", currency="USD")
    assert figures.activity == [Activity("02 Mar 00:00", "worldpay", "USD", 1, 0)]
    assert figures.provider_rates == [Rate("Worldpay", 0, 1)]
    assert figures.times_to_final == [TimeToFinal("Worldpay", 1, 100, 100)]
    assert figures.stuck_total == 0


def test_payments_open_ten_minutes_are_listed_stuck_with_links_to_them(history):
    figures = figures_for(date(2026, 3, 3), date(2026, 3, 3))
    assert figures.stuck_total == 1
    (stuck,) = figures.stuck
    assert (stuck.id, stuck.amount, stuck.status) == (history["stuck"].id, Money(700, "HKD"), "pending")
    table = {t.name: t for t in payment_tables(figures)}["stuck"]
    link = table.rows[0][1]
    assert link == Link(history["stuck"].request_id, f"/payments/{history['stuck'].id}")
    assert table.caption == "Payments open over 10 minutes: 1 (the oldest 20 listed)"


def test_the_section_renders_charts_with_titles_and_their_tables(client, login_as, committed_history):
    login_as("manager")
    response = client.get("/reports/payments?range=custom&day_from=2026-02-28&day_to=2026-03-02")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, response.headers.get("Location")
    assert page.count('role="img"') == page.count("<title id=") == 7  # 2 providers, 3 currencies, 2 rates
    assert "Paid per day in HKD" in page and "HK$30.00" in page
    stuck_id, stuck_request_id = committed_history["stuck"]
    assert f'<a href="/payments/{stuck_id}">{stuck_request_id}</a>' in page
    assert "≤ 50 s" in page
