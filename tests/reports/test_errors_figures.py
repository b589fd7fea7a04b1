"""The Errors section's figures against hand-computed ones, and each code's link to exactly its payments."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from dashboard.extensions import db
from dashboard.payments.queries import NO_CODE
from dashboard.payments.states import PaymentEvent
from dashboard.reports.errors_figures import error_figures
from dashboard.reports.errors_figures import error_tables
from dashboard.reports.errors_figures import trend
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange
from dashboard.reports.tables import Link
from tests.reports.payment_history import a_day_of_payments
from tests.reports.payment_history import at
from tests.reports.payment_history import created
from tests.reports.payment_history import moved

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
NO_MONEY = "USER_BALANCE_NOT_ENOUGH"


def filters_for(first: date, last: date, **chosen) -> ReportFilters:
    return ReportFilters(ReportRange(RangeKey.CUSTOM, first, last, HONG_KONG), **chosen)


def failed_on(fake_clock, when: str, code: str | None, **fields) -> None:
    payment = created(fake_clock, when, **fields)
    moved(fake_clock, payment, when, PaymentEvent.FAILED, code)


@pytest.fixture
def history(app_ctx, fake_clock):
    made = a_day_of_payments(fake_clock)
    # Two more "not enough balance" on 3 March (Hong Kong), one the day before 28 February.
    failed_on(fake_clock, "2026-03-03 05:00:00", NO_MONEY)
    failed_on(fake_clock, "2026-03-03 06:00:00", NO_MONEY, currency="USD")
    return made


def test_an_empty_range_has_no_failures_and_no_attempts(history):
    figures = error_figures(db.session, filters_for(date(2026, 1, 1), date(2026, 1, 7)))
    assert (figures.attempts, figures.previous_attempts, figures.codes) == (0, 0, [])
    (table,) = error_tables(figures)
    assert table.rows == []


def test_failures_by_code_with_guidance_share_and_trend(history):
    figures = error_figures(db.session, filters_for(date(2026, 2, 28), date(2026, 3, 2)))
    assert (figures.attempts, figures.previous_attempts, figures.failed) == (7, 0, 3)
    assert [(c.provider, c.code, c.count, c.previous) for c in figures.codes] == [
        ("antom", "", 1, 0),
        ("antom", NO_MONEY, 1, 0),
        # Failed with REFUSED, then a note said ERROR: the code it holds now.
        ("worldpay", "ERROR", 1, 0),
    ]
    no_money = figures.codes[1]
    assert no_money.meaning.startswith("The customer's wallet balance was not enough")
    assert no_money.next_step.startswith("Ask the customer to top up")
    (table,) = error_tables(figures)
    code, provider, failed, share, previous, moved_by, meaning, _ = table.rows[1]
    assert isinstance(code, Link) and code.text == NO_MONEY
    assert (provider, failed, share, previous, moved_by) == ("Antom", 1, "14.3 %", 0, "new (+1)")
    assert meaning == no_money.meaning
    assert table.rows[0][0].text == "no code given"  # its link lists the failed payments without a code


def test_the_trend_compares_with_the_period_of_the_same_length_just_before(history):
    # 3 March against 2 March: 2 against 1 for the code, 2 attempts against 6.
    figures = error_figures(db.session, filters_for(date(2026, 3, 3), date(2026, 3, 3)))
    assert [(c.code, c.count, c.previous) for c in figures.codes] == [(NO_MONEY, 2, 1)]
    assert (figures.attempts, figures.previous_attempts) == (2, 6)
    assert error_tables(figures)[0].rows[0][5] == "+1 (+100 %)"


@pytest.mark.parametrize(
    ("now", "before", "said"),
    [
        (3, 3, "no change"),
        (5, 0, "new (+5)"),
        (1, 4, "−3 (−75 %)"),
        (0, 2, "−2 (−100 %)"),
        (1500, 1000, "+500 (+50 %)"),
    ],
)
def test_trend_words(now, before, said):
    assert trend(now, before) == said


def test_the_currency_filter_counts_only_that_currency(history):
    figures = error_figures(db.session, filters_for(date(2026, 3, 3), date(2026, 3, 3), currency="USD"))
    assert [(c.code, c.count, c.previous) for c in figures.codes] == [(NO_MONEY, 1, 0)]
    assert figures.attempts == 1


def listed_rows(client, url: str, code: str) -> int:
    """Return how many payments the list at ``url`` shows; its code filter shows the code, to clear."""
    page = client.get(url).get_data(as_text=True)
    assert re.search(rf'<input[^>]*name="code"[^>]*value="{code}"', page), "the code filter is not shown"
    return len(re.findall(r'<tr id="payment-\d+"', page))


@pytest.mark.parametrize(
    ("first", "last", "chosen"),
    [
        (date(2026, 2, 28), date(2026, 3, 2), {}),
        (date(2026, 3, 2), date(2026, 3, 3), {}),  # a day boundary at 00:00 in Hong Kong inside
        (date(2026, 3, 3), date(2026, 3, 3), {"currency": "USD"}),
        (date(2026, 3, 1), date(2026, 3, 31), {"provider": "worldpay"}),
    ],
)
def test_each_code_links_to_a_payments_list_of_exactly_its_count(
    app, client, login_as, fake_clock, first, last, chosen
):
    with app.test_request_context():
        a_day_of_payments(fake_clock)
        failed_on(fake_clock, "2026-03-03 05:00:00", NO_MONEY)
        failed_on(fake_clock, "2026-03-03 06:00:00", NO_MONEY, currency="USD")
        db.session.commit()
        figures = error_figures(db.session, filters_for(first, last, **chosen))
        (table,) = error_tables(figures)
    login_as("viewer")
    linked = [(row[0], row[2]) for row in table.rows if isinstance(row[0], Link)]
    assert linked
    assert len(linked) == len(table.rows)  # every code, "no code given" too
    for link, count in linked:
        code = NO_CODE if link.text == "no code given" else link.text
        args = parse_qs(urlsplit(link.url).query)
        assert args["code"] == [code] and args["status"] == ["failed"]
        assert args["day_from"] == [first.isoformat()] and args["day_to"] == [last.isoformat()]
        assert listed_rows(client, link.url, code) == count


def test_the_section_page_shows_each_code_with_its_guidance_and_link(app, client, login_as, fake_clock):
    with app.test_request_context():
        a_day_of_payments(fake_clock)
        db.session.commit()
    fake_clock.set(at("2026-03-03 08:00:00"))
    login_as("manager")
    page = client.get(
        "/reports/errors?range=custom&day_from=2026-02-28&day_to=2026-03-02", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert '<title id="errors-by-code-title">Failed payments by result code</title>' in page
    # Each bar is named by its code alone (no other provider has the same code).
    bars = re.findall(r'class="chart-label" text-anchor="end">([^<]*)</text>', page)
    assert bars == ["no code given", "USER_BALANCE_NOT_ENOUGH", "ERROR"]
    assert (
        '<a href="/payments/?code=USER_BALANCE_NOT_ENOUGH&amp;status=failed&amp;day_from=2026-02-28&amp;'
        'day_to=2026-03-02&amp;provider=antom">USER_BALANCE_NOT_ENOUGH</a>'
    ) in page
    assert "Ask the customer to top up" in page
    csv = client.get("/reports/errors/by-code.csv?range=custom&day_from=2026-02-28&day_to=2026-03-02")
    assert csv.status_code == 200 and "USER_BALANCE_NOT_ENOUGH,Antom,1,14.3 %,0,new (+1)" in csv.get_data(
        as_text=True
    )
