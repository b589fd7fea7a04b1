"""The report page's mechanics: filters in the URL, sections loaded apart, tables as CSV, who may read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from flask import Flask
from jinja2 import ChoiceLoader
from jinja2 import DictLoader
from sqlalchemy import select

from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.reports import sections
from dashboard.reports.charts import bar_chart
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.tables import Link
from dashboard.reports.tables import Section
from dashboard.reports.tables import Table


@dataclass(frozen=True)
class Echo:
    """What the test section saw: the filters it was asked for."""

    filters: ReportFilters


def _tables(figures: Echo) -> list[Table]:
    days = figures.filters.range
    return [
        Table(
            "days",
            "Days asked for",
            ("First day", "Last day", "Amount", "Note"),
            [
                (
                    Link(days.first_day.isoformat(), "/payments"),
                    days.last_day.isoformat(),
                    Money(123456, "HKD"),
                    "=1+1",
                )
            ],
        )
    ]


ECHO = Section("echo", "Echo", ("payment", "refund"), lambda session, filters: Echo(filters), _tables)


@pytest.fixture
def echo_section(app: Flask) -> Iterator[Section]:
    """Put a section that shows the filters it got on the page, with its own partial."""
    partial = "{{ chart }}{% for table in tables %}{{ report_table(table, section, filters) }}{% endfor %}"
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({"reports/_echo.html": partial}), original])
    sections.SECTIONS.append(ECHO)
    yield ECHO
    sections.SECTIONS.remove(ECHO)
    app.jinja_env.loader = original
    app.jinja_env.cache.clear()


@pytest.fixture
def hong_kong_noon(fake_clock):
    fake_clock.set(datetime(2026, 11, 29, 4, 0, tzinfo=UTC))  # 12:00 in Hong Kong
    return fake_clock


def test_page_loads_each_section_apart_with_the_filters(client, login_as, echo_section, hong_kong_noon):
    login_as("manager")
    page = client.get("/reports?range=30d&currency=HKD")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="report-echo"' in html
    assert 'hx-get="/reports/echo?range=30d&amp;currency=HKD"' in html
    assert "31 Oct 2026 – 29 Nov 2026" in html


def test_section_answers_its_fragment_as_a_live_region(client, login_as, echo_section, hong_kong_noon):
    login_as("viewer")
    fragment = client.get("/reports/echo?range=last-month", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in html
    assert 'data-live-topic="payment refund"' in html
    assert 'data-live-every="5000"' in html
    assert '<a href="/payments">2026-10-01</a>' in html
    assert "2026-10-31" in html
    assert "HK$1,234.56" in html


def test_section_url_opened_directly_shows_the_whole_page(client, login_as, echo_section, hong_kong_noon):
    login_as("admin")
    html = client.get("/reports/echo?range=today").get_data(as_text=True)
    assert "<html" in html
    assert html.count('id="report-echo"') == 1
    assert "2026-11-29" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=custom&day_from=2026-11-10", "Give both days of a custom range."),
        ("range=custom&day_from=2026-11-10&day_to=2026-11-01", "The last day is before the first."),
        ("range=custom&day_from=2025-01-01&day_to=2026-11-01", "Choose at most 400 days."),
        ("range=year", "Not a valid choice"),
    ],
)
def test_bad_filters_show_what_is_wrong_and_no_figures(client, login_as, echo_section, query, message):
    login_as("manager")
    page = client.get(f"/reports?{query}")
    html = page.get_data(as_text=True)
    assert message in html
    assert 'id="report-echo"' not in html
    assert client.get(f"/reports/echo?{query}").status_code == 422
    assert client.get(f"/reports/echo/days.csv?{query}").status_code == 422


def test_table_downloads_as_csv_and_is_audited(client, login_as, echo_section, hong_kong_noon):
    manager = login_as("manager")
    response = client.get("/reports/echo/days.csv?range=custom&day_from=2026-11-01&day_to=2026-11-02")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "report-echo-days-2026-11-01-2026-11-02" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows == [
        ["First day", "Last day", "Amount", "Note"],
        ["2026-11-01", "2026-11-02", "1234.56", "'=1+1"],
    ]
    with client.application.app_context():
        entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "reports.exported")).one()
    assert entry.actor_id == manager.id
    assert entry.after["section"] == "echo"
    assert entry.after["filters"]["day_from"] == "2026-11-01"


def test_unknown_section_or_table_is_not_found(client, login_as, echo_section):
    login_as("manager")
    assert client.get("/reports/nothing").status_code == 404
    assert client.get("/reports/echo/nothing.csv").status_code == 404


@pytest.mark.parametrize("role", ["support", "finance"])
def test_other_roles_may_not_read_the_report(client, login_as, echo_section, role):
    login_as(role)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/echo").status_code == 403


def test_chart_is_an_image_with_a_title_and_escapes_labels():
    chart = bar_chart("Failures <by> code", [("<b>", 2), ("ok", 1)], chart_id="codes")
    assert '<svg viewBox="0 0 640 52" role="img" aria-labelledby="codes-title codes-desc"' in chart
    assert '<title id="codes-title">Failures &lt;by&gt; code</title>' in chart
    assert "the largest is &lt;b&gt;: 2" in chart
    assert "<b>" not in chart


def test_previous_range_has_the_same_length():
    from zoneinfo import ZoneInfo

    from dashboard.reports.ranges import RangeKey
    from dashboard.reports.ranges import report_range

    zone = ZoneInfo("Asia/Hong_Kong")
    week = report_range(RangeKey.LAST_7_DAYS, date(2026, 3, 1), zone)
    assert (week.first_day, week.last_day) == (date(2026, 2, 23), date(2026, 3, 1))
    assert (week.previous().first_day, week.previous().last_day) == (date(2026, 2, 16), date(2026, 2, 22))
    assert week.start_utc == datetime(2026, 2, 22, 16, 0, tzinfo=UTC)
    assert week.end_utc == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    last_month = report_range(RangeKey.LAST_MONTH, date(2026, 3, 1), zone)
    assert (last_month.first_day, last_month.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
