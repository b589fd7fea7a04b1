"""The agreements section's counts, against hand-counted agreements, and the lists their links open."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest

from dashboard.extensions import db
from dashboard.reports.agreements_figures import agreement_figures
from dashboard.reports.agreements_figures import agreement_tables
from tests.factories import make_agreement
from tests.reports.helpers import report_filters
from tests.unit.test_list_plans import plans_of

#: Now: 12:00 on 6 February 2026 in Hong Kong.
NOW = datetime(2026, 2, 6, 4, 0, tzinfo=UTC)
#: The last second of 4 February and the first of 5 February in Hong Kong.
LAST_OF_4TH = datetime(2026, 2, 4, 15, 59, 59, tzinfo=UTC)
FIRST_OF_5TH = datetime(2026, 2, 4, 16, 0, tzinfo=UTC)
FEB_4, FEB_5 = date(2026, 2, 4), date(2026, 2, 5)
LONG_AGO = datetime(2025, 6, 1, tzinfo=UTC)


def make_agreements() -> None:
    """Agreements around midnight in Hong Kong, revoked, cancelled, and running out soon or later."""
    make_agreement(db.session, status="active", created_at=LAST_OF_4TH, expires_at=NOW + timedelta(days=30))
    make_agreement(db.session, status="pending", created_at=FIRST_OF_5TH)
    make_agreement(db.session, status="revoked", created_at=LONG_AGO, revoked_at=FIRST_OF_5TH)
    make_agreement(db.session, status="revoked", created_at=LONG_AGO, revoked_at=LAST_OF_4TH)
    make_agreement(db.session, status="cancelled_by_customer", created_at=LONG_AGO, cancelled_at=LAST_OF_4TH)
    make_agreement(db.session, status="active", created_at=LONG_AGO, expires_at=NOW + timedelta(days=3))
    make_agreement(db.session, status="active", created_at=LONG_AGO, expires_at=NOW + timedelta(days=8))


@pytest.fixture
def now(fake_clock):
    fake_clock.set(NOW)
    return fake_clock


def counts(first: date, last: date) -> list[int]:
    return [line.count for line in agreement_figures(db.session, report_filters(first, last)).counts]


def test_an_empty_database_counts_nothing(app_ctx, now):
    assert counts(FEB_4, FEB_5) == [0, 0, 0, 0, 0]


def test_counts_follow_the_hong_kong_days_of_each_time(app_ctx, now):
    make_agreements()
    # Active now, made, revoked, cancelled, running out within 7 days.
    assert counts(FEB_4, FEB_4) == [3, 1, 1, 1, 1]
    assert counts(FEB_5, FEB_5) == [3, 1, 1, 0, 1]
    assert counts(FEB_4, FEB_5) == [3, 2, 2, 1, 1]
    assert counts(date(2026, 1, 1), date(2026, 1, 31)) == [3, 0, 0, 0, 1]


def test_each_count_reads_an_index_of_agreements_never_the_table(app_ctx, now):
    make_agreements()
    plans = plans_of(lambda: agreement_figures(db.session, report_filters(FEB_4, FEB_5)))
    # A count by status may read any index that leads with the status (PostgreSQL picks among them by
    # their size on so few rows); none reads the table.
    expected = ("ix_agreements_status_", "ix_agreements_created_at_id", *["ix_agreements_status_"] * 3)
    assert len(plans) == len(expected)
    for plan, index in zip(plans, expected, strict=True):
        assert plan.uses(index) and not plan.scans_a_table, plan


def test_each_count_opens_the_agreements_list_showing_as_many(app, client, login_as, now):
    with app.test_request_context():
        make_agreements()
        db.session.commit()
        [table] = agreement_tables(agreement_figures(db.session, report_filters(FEB_4, FEB_5)))
    login_as("manager")
    assert [link.text for _label, link in table.rows] == ["3", "2", "2", "1", "1"]
    for _label, link in table.rows:
        listed = client.get(link.url).get_data(as_text=True)
        assert len(re.findall(r'<tr id="agreement-\d+"', listed)) == int(link.text), link.url

    section = client.get(
        "/reports/agreements?range=custom&day_from=2026-02-04&day_to=2026-02-05",
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert 'data-live-topic="agreement"' in section
    assert section.count('role="img"') == 1
    assert 'href="/agreements/?dated=revoked&amp;day_from=2026-02-04&amp;day_to=2026-02-05">2</a>' in section
