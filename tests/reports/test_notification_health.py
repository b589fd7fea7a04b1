"""The notification health section, checked against a hand-counted inbox filled through the real webhooks.

The inbox (clock at 10:00 in Hong Kong on 5 January 2026):

=========  ===========================================  ==========  ===========  =================
provider   notification                                 received    outcome      delay (bucket)
=========  ===========================================  ==========  ===========  =================
Worldpay   authorized ev-1, 50 ms after its event       5 Jan 10:00 applied      < 100 ms (0)
Worldpay   authorized ev-1 again                        5 Jan 10:00 duplicate    (not timed)
Worldpay   settled ev-2, 3 s after                      5 Jan 10:00 applied      < 3.2 s (10)
Worldpay   authorized ev-3, 60 s after                  5 Jan 10:00 late         < 1.2 min (19)
Worldpay   settled, badly signed                        5 Jan 10:00 rejected     (not timed)
Antom      PAYMENT_RESULT S, 3 s after paymentTime      5 Jan 10:00 applied      < 3.2 s (10)
Antom      PAYMENT_RESULT F, 4 s after Request-Time     5 Jan 10:00 failed       < 4.5 s (11)
Antom      TOKEN_CANCELED, 14 h after Request-Time      5 Jan 23:59 unmatched    < 14.6 h (38)
Antom      TOKEN_CANCELED, 14 h after Request-Time      6 Jan 00:00 unmatched    < 14.6 h (38)
=========  ===========================================  ==========  ===========  =================
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.providers.worldpay.mapping import format_event_timestamp
from dashboard.reports.notifications_figures import Delay
from dashboard.reports.notifications_figures import notification_health
from dashboard.reports.notifications_figures import notification_tables
from dashboard.reports.ranges import RangeKey
from dashboard.reports.ranges import ReportFilters
from dashboard.reports.ranges import ReportRange
from dashboard.reports.tables import Link
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import post_worldpay
from tests.notifications.notify_helpers import token_canceled
from tests.notifications.notify_helpers import worldpay_event
from tests.web.test_money_forms import Desk

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
JAN_5 = date(2026, 1, 5)
JAN_6 = date(2026, 1, 6)
#: The providers table's columns after the provider's name.
COUNTS = ("Received", "Signature failures", "Duplicates", "Late", "Failed", "Unmatched", "Waiting")


def filters(first: date, last: date, provider: str | None = None) -> ReportFilters:
    return ReportFilters(ReportRange(RangeKey.CUSTOM, first, last, HONG_KONG), provider)


def figures_for(first: date, last: date, provider: str | None = None):
    db.session.rollback()
    return notification_health(db.session, filters(first, last, provider))


def providers_table(figures) -> dict[str, dict[str, object]]:
    """The providers table as {provider label: {column: cell}}, links read as their counts."""
    table = next(table for table in notification_tables(figures) if table.name == "providers")
    return {
        row[0]: {
            column: int(cell.text) if isinstance(cell, Link) else cell
            for column, cell in zip(table.columns[1:], row[1:], strict=True)
        }
        for row in table.rows
    }


def stamped(now: datetime, **before: float) -> str:
    return format_event_timestamp(now - timedelta(**before))


@pytest.fixture
def inbox(sandboxed, fake_clock):
    """Fill the inbox as the module's docstring lists, through the webhooks and the appliers."""
    app = sandboxed.app
    sale = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 42")
    app.extensions["huey"].flush()
    now = fake_clock.now()
    authorized = worldpay_event(
        sale.request_id, "authorized", event_id="ev-1", timestamp=stamped(now, seconds=0.05)
    )
    post_worldpay(app, authorized)
    post_worldpay(app, authorized)
    post_worldpay(
        app, worldpay_event(sale.request_id, "settled", event_id="ev-2", timestamp=stamped(now, seconds=3))
    )
    post_worldpay(
        app,
        worldpay_event(sale.request_id, "authorized", event_id="ev-3", timestamp=stamped(now, seconds=60)),
    )
    forged = worldpay_event(sale.request_id, "settled", event_id="ev-4", timestamp=stamped(now, seconds=3))
    post_worldpay(app, forged, signature="k1/SHA256/00")

    fake_clock.set(datetime(2026, 1, 5, 2, 0, 4, tzinfo=UTC))
    post_antom(app, payment_result("PAY-H-1", "2026010519401080010018889990001", minor=10001))
    post_antom(app, payment_result("PAY-H-1", "2026010519401080010018889990001", "F", minor=10001))
    fake_clock.set(datetime(2026, 1, 5, 15, 59, 59, 900000, tzinfo=UTC))  # 23:59:59.9 in Hong Kong
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_1"))
    fake_clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # midnight in Hong Kong
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_2"))
    sandboxed.run_jobs()
    return sandboxed


def test_each_provider_s_counts_and_delays_for_one_day(inbox):
    figures = figures_for(JAN_5, JAN_5)

    assert providers_table(figures) == {
        "Antom": {
            **dict.fromkeys(COUNTS, 0),
            "Received": 3,
            "Failed": 1,
            "Unmatched": 1,
            # 3 timed: buckets 10, 11, 38 → the median is the 2nd, the 95th percentile the 3rd.
            "Delay median": "under 4.5 s",
            "Delay 95th percentile": "under 14.6 h",
            "Delays known": 3,
        },
        "Worldpay": {
            **dict.fromkeys(COUNTS, 0),
            "Received": 5,
            "Signature failures": 1,
            "Duplicates": 1,
            "Late": 1,
            # 3 timed: buckets 0, 10, 19.
            "Delay median": "under 3.2 s",
            "Delay 95th percentile": "under 1.2 min",
            "Delays known": 3,
        },
    }
    assert [health.delay for health in figures.providers] == [Delay(3, 11, 38), Delay(3, 10, 19)]


def test_the_day_turns_at_midnight_in_hong_kong(inbox):
    next_day = providers_table(figures_for(JAN_6, JAN_6))
    both = providers_table(figures_for(JAN_5, JAN_6))

    assert next_day["Antom"]["Received"] == next_day["Antom"]["Unmatched"] == 1
    assert next_day["Worldpay"]["Received"] == 0
    assert (both["Antom"]["Received"], both["Antom"]["Unmatched"], both["Worldpay"]["Received"]) == (4, 2, 5)
    # 4 timed: 10, 11, 38, 38 → the 2nd and the 4th.
    assert (both["Antom"]["Delay median"], both["Antom"]["Delay 95th percentile"]) == (
        "under 4.5 s",
        "under 14.6 h",
    )


def test_a_short_range_is_charted_per_local_hour(inbox):
    figures = figures_for(JAN_5, JAN_6)
    antom, worldpay = figures.providers

    assert len(figures.periods) == 48
    assert figures.periods[0] == datetime(2026, 1, 4, 16, 0, tzinfo=UTC)  # 00:00 on the 5th in Hong Kong
    assert {hour: count for hour, count in enumerate(antom.received_per_period) if count} == {
        10: 2,
        23: 1,
        24: 1,
    }
    assert {hour: count for hour, count in enumerate(worldpay.received_per_period) if count} == {10: 5}
    received = next(table for table in notification_tables(figures) if table.name == "received")
    assert received.columns == ("Hour", "Antom", "Worldpay")
    assert received.rows[10] == (datetime(2026, 1, 5, 2, 0, tzinfo=UTC), 2, 5)


def test_a_longer_range_is_charted_per_day(inbox):
    figures = figures_for(date(2026, 1, 4), JAN_6)
    received = next(table for table in notification_tables(figures) if table.name == "received")

    assert received.columns == ("Day", "Antom", "Worldpay")
    assert received.rows == [(date(2026, 1, 4), 0, 0), (JAN_5, 3, 5), (JAN_6, 1, 0)]
    assert [len(chart) > 0 for chart in figures.charts] == [True, True]
    assert "Worldpay notifications received per day" in figures.charts[1]


def test_a_provider_filter_shows_that_provider_alone(inbox):
    figures = figures_for(JAN_5, JAN_5, "worldpay")

    assert list(providers_table(figures)) == ["Worldpay"]
    assert providers_table(figures)["Worldpay"]["Received"] == 5


def test_an_empty_range_shows_each_provider_with_nothing(inbox):
    figures = figures_for(date(2026, 1, 10), date(2026, 1, 12))

    assert providers_table(figures) == {
        label: {
            **dict.fromkeys(COUNTS, 0),
            "Delay median": None,
            "Delay 95th percentile": None,
            "Delays known": 0,
        }
        for label in ("Antom", "Worldpay")
    }
    received = next(table for table in notification_tables(figures) if table.name == "received")
    assert [row[1:] for row in received.rows] == [(0, 0)] * 3


def test_notifications_waiting_to_be_applied_are_received_and_waiting_on_their_local_day(
    sandboxed, fake_clock
):
    app = sandboxed.app
    fake_clock.set(datetime(2026, 1, 5, 15, 59, 59, 900000, tzinfo=UTC))  # 23:59:59.9 in Hong Kong
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_1"))
    fake_clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # midnight in Hong Kong
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_2"))

    def counted() -> tuple:
        figures = figures_for(date(2026, 1, 4), JAN_6, "antom")
        antom = providers_table(figures)["Antom"]
        received = next(table for table in notification_tables(figures) if table.name == "received")
        return antom["Received"], antom["Waiting"], antom["Unmatched"], received.rows

    per_day = [(date(2026, 1, 4), 0), (JAN_5, 1), (JAN_6, 1)]
    assert counted() == (2, 2, 0, per_day)
    sandboxed.run_jobs()
    assert counted() == (2, 0, 2, per_day)


# --- through the page ----------------------------------------------------------------------------------


@pytest.fixture
def manager(inbox) -> Desk:
    """A manager's browser on the served app."""
    return Desk(inbox, "manager", "Mo")


def inbox_rows(desk: Desk, url: str) -> int:
    page = desk.get(url)
    assert page.status_code == 200
    return len(re.findall(r'<tr id="notification-\d+"', page.text))


def test_every_count_opens_the_inbox_filtered_to_exactly_those_notifications(inbox, manager):
    table = next(
        table for table in notification_tables(figures_for(JAN_5, JAN_6)) if table.name == "providers"
    )
    links = [cell for row in table.rows for cell in row if isinstance(cell, Link)]

    assert len(links) == 7  # received and each outcome counted above zero, of both providers
    for link in links:
        assert inbox_rows(manager, link.url) == int(link.text), link.url


def test_the_section_renders_its_charts_and_tables_for_htmx(inbox, manager):
    page = manager.get(
        "/reports/notifications?range=custom&day_from=2026-01-05&day_to=2026-01-05",
        headers={"HX-Request": "true"},
    )

    assert page.status_code == 200
    html = page.text
    assert html.count('<svg viewBox="0 0 640') == 2
    assert "Antom notifications received per hour" in html
    assert 'id="table-notifications-providers"' in html and 'id="table-notifications-received"' in html
    assert "under 14.6 h" in html
    assert 'data-live-topic="payment agreement"' in html


def test_the_section_downloads_each_provider_s_figures(inbox, manager):
    page = manager.get(
        "/reports/notifications/providers.csv?range=custom&day_from=2026-01-05&day_to=2026-01-05"
    )

    assert page.status_code == 200
    lines = page.content.decode("utf-8-sig").splitlines()
    assert lines[1:] == [
        "Antom,3,0,0,0,1,1,0,under 4.5 s,under 14.6 h,3",
        "Worldpay,5,1,1,1,0,0,0,under 3.2 s,under 1.2 min,3",
    ]
