"""The notification health rollup, kept by the real webhooks and appliers, and its recount."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.notifications import service
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from dashboard.providers.worldpay.mapping import format_event_timestamp
from dashboard.reports.notification_rollups import LAST_BUCKET
from dashboard.reports.notification_rollups import NO_DELAY
from dashboard.reports.notification_rollups import NotificationTally
from dashboard.reports.notification_rollups import bucket_bound
from dashboard.reports.notification_rollups import delay_bucket
from dashboard.reports.rebuild import Difference
from dashboard.reports.rebuild import rebuild_rollups
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import post_worldpay
from tests.notifications.notify_helpers import token_canceled
from tests.notifications.notify_helpers import worldpay_event

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
JAN_5 = date(2026, 1, 5)
JAN_6 = date(2026, 1, 6)


def tallies() -> dict[tuple, int]:
    """The rollup's non-empty buckets: (day, provider, outcome, delay bucket) → count."""
    db.session.rollback()
    table = NotificationTally.__table__
    rows = db.session.execute(
        select(table.c.day, table.c.provider, table.c.outcome, table.c.delay_bucket, table.c.count)
    )
    return {
        (day, provider, outcome, bucket): count for day, provider, outcome, bucket, count in rows if count
    }


def rebuilt() -> list[Difference]:
    """Rebuild the rollup with the rebuild command's function; return the differences it found."""
    db.session.rollback()
    with write_transaction(db.session) as session:
        [comparison] = rebuild_rollups(
            session, HONG_KONG, replace=True, tables=[NotificationTally.__tablename__]
        )
    return comparison.differences


def key(day: date, provider: str, outcome: str, delay: int) -> dict[str, object]:
    return {"day": day, "provider": provider, "outcome": outcome, "delay_bucket": delay}


def event_at(now: datetime, **before: float) -> str:
    """Return an ``eventTimestamp`` that many seconds/milliseconds before ``now``."""
    return format_event_timestamp(now - timedelta(**before))


@pytest.fixture
def sale(sandboxed) -> Payment:
    """An AlipayHK sale through Worldpay, waiting for the shopper."""
    payment = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 42")
    sandboxed.app.extensions["huey"].flush()
    return payment


# --- the delay scale -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("milliseconds", "bucket"),
    [
        (-2000, 0),  # the provider's clock ahead of ours
        (0, 0),
        (99, 0),
        (100, 1),
        (141, 1),
        (142, 2),
        (1000, 7),  # 100 ms × √2^6 = 800 ms ≤ 1 s < 1131 ms
        (3000, 10),
        (60_000, 19),
        (10 * 86_400_000, LAST_BUCKET),
    ],
)
def test_delays_fall_in_buckets_of_a_fixed_geometric_scale(milliseconds, bucket):
    received = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    found = delay_bucket(received - timedelta(milliseconds=milliseconds), received)

    assert found == bucket
    bound = bucket_bound(found)
    assert bound is None or timedelta(milliseconds=milliseconds) < bound


def test_a_notification_without_an_event_time_has_no_delay():
    assert delay_bucket(None, datetime(2026, 1, 5, tzinfo=UTC)) == NO_DELAY


# --- kept by intake and processing ---------------------------------------------------------------------


def test_intake_and_processing_count_each_notification_once_in_its_outcome_and_delay(
    sandboxed, fake_clock, sale
):
    app = sandboxed.app
    now = fake_clock.now()  # 2026-01-05 10:00 HKT
    authorized = worldpay_event(
        sale.request_id, "authorized", event_id="ev-1", timestamp=event_at(now, milliseconds=50)
    )
    post_worldpay(app, authorized)
    post_worldpay(app, authorized)  # a redelivery
    post_worldpay(
        app, worldpay_event(sale.request_id, "settled", event_id="ev-2", timestamp=event_at(now, seconds=3))
    )
    post_worldpay(
        app,
        worldpay_event(sale.request_id, "authorized", event_id="ev-3", timestamp=event_at(now, seconds=60)),
    )
    forged = worldpay_event(sale.request_id, "settled", event_id="ev-4", timestamp=event_at(now, seconds=3))
    post_worldpay(app, forged, signature="k1/SHA256/00")

    # Before processing: the redelivery a duplicate, the forgery rejected; the three waiting to be
    # applied are not in the rollup (the report counts them from the inbox).
    assert tallies() == {
        (JAN_5, "worldpay", "duplicate", 0): 1,
        (JAN_5, "worldpay", "rejected", 10): 1,
    }
    assert rebuilt() == []

    sandboxed.run_jobs()

    assert [row.outcome for row in notifications()] == ["applied", "duplicate", "applied", "late", "rejected"]
    assert tallies() == {
        (JAN_5, "worldpay", "applied", 0): 1,
        (JAN_5, "worldpay", "duplicate", 0): 1,
        (JAN_5, "worldpay", "applied", 10): 1,
        (JAN_5, "worldpay", "late", 19): 1,
        (JAN_5, "worldpay", "rejected", 10): 1,
    }
    assert rebuilt() == []


def test_a_failed_notification_leaves_the_rollup_while_it_waits_to_be_reprocessed(sandboxed, fake_clock):
    app = sandboxed.app
    # Antom's times: paymentTime 10:00:01 HKT on a success; a failure gives none, so its Request-Time
    # (10:00:00 HKT) times it.
    fake_clock.set(datetime(2026, 1, 5, 2, 0, 4, tzinfo=UTC))
    post_antom(app, payment_result("PAY-H-1", "2026010519401080010018889990001", minor=10001))
    post_antom(app, payment_result("PAY-H-1", "2026010519401080010018889990001", "F", minor=10001))
    sandboxed.run_jobs()

    success, failure = notifications()
    assert (success.outcome, failure.outcome) == ("applied", "failed")
    # 3 s after paymentTime (bucket 10); 4 s after Request-Time (bucket 11: 3.2 s to 4.5 s).
    assert tallies() == {(JAN_5, "antom", "applied", 10): 1, (JAN_5, "antom", "failed", 11): 1}

    service.reprocess(failure.id)
    assert tallies() == {(JAN_5, "antom", "applied", 10): 1}
    assert rebuilt() == []
    sandboxed.run_jobs()
    assert tallies() == {(JAN_5, "antom", "applied", 10): 1, (JAN_5, "antom", "failed", 11): 1}
    assert rebuilt() == []


def test_the_day_is_the_local_day_of_receipt_turning_at_midnight_in_hong_kong(sandboxed, fake_clock):
    app = sandboxed.app
    fake_clock.set(datetime(2026, 1, 5, 15, 59, 59, 900000, tzinfo=UTC))  # 23:59:59.9 HKT
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_1"))
    fake_clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))  # 00:00 HKT the next day
    post_antom(app, token_canceled("28100103_20260105_NOT_OURS_2"))
    sandboxed.run_jobs()

    # No time in an authorisation's body: Request-Time (10:00 HKT on the 5th) times them, ~14 h before.
    late_evening = delay_bucket(
        datetime(2026, 1, 5, 2, 0, tzinfo=UTC), datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    )
    assert tallies() == {
        (JAN_5, "antom", "unmatched", late_evening): 1,
        (JAN_6, "antom", "unmatched", late_evening): 1,
    }
    assert rebuilt() == []


def test_a_body_that_names_no_time_and_no_request_time_has_no_delay(sandboxed):
    app = sandboxed.app
    post_worldpay(
        app, {"eventId": "ev-no-time", "eventDetails": {"type": "authorized"}}, signature="k1/SHA256/00"
    )

    assert tallies() == {(JAN_5, "worldpay", "rejected", NO_DELAY): 1}


# --- the recount ---------------------------------------------------------------------------------------


def test_the_rebuild_reports_and_repairs_a_rollup_that_drifted(sandboxed, fake_clock, sale):
    now = fake_clock.now()
    post_worldpay(
        sandboxed.app, worldpay_event(sale.request_id, "authorized", timestamp=event_at(now, seconds=3))
    )
    sandboxed.run_jobs()
    right = tallies()
    with write_transaction(db.session) as session:
        drift = NotificationTally.__table__.update().where(NotificationTally.count > 0)
        session.execute(drift.values(count=NotificationTally.count + 2))
        session.add(NotificationTally(day=JAN_6, provider="antom", outcome="late", delay_bucket=3, count=1))

    assert rebuilt() == [
        Difference(key(JAN_5, "worldpay", "applied", 10), {"count": 3}, {"count": 1}),
        Difference(key(JAN_6, "antom", "late", 3), {"count": 1}, {"count": 0}),
    ]
    assert tallies() == right
    assert rebuilt() == []


def test_the_rebuild_of_an_empty_inbox_is_an_empty_rollup(sandboxed):
    assert rebuilt() == []
    assert tallies() == {}
