"""The payments' rollups follow every status change, and rebuilt from the payments they are the same."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from dashboard.extensions import db
from dashboard.payments import changes
from dashboard.payments.states import PaymentEvent
from dashboard.reports.models import DAILY_FAILURES
from dashboard.reports.models import DAILY_TOTALS
from dashboard.reports.models import DAILY_WALLETS
from dashboard.reports.models import FINISH_TIMES
from dashboard.reports.models import DailyTotal
from dashboard.reports.models import finish_bucket
from dashboard.reports.rebuild import REBUILDERS
from dashboard.reports.rebuild import maintained_buckets
from dashboard.reports.rebuild import rebuild_rollups
from tests.reports.payment_history import a_day_of_payments
from tests.reports.payment_history import created
from tests.reports.payment_history import moved

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
MAR_1, MAR_2 = date(2026, 3, 1), date(2026, 3, 2)


@pytest.fixture
def history(app_ctx, fake_clock):
    return a_day_of_payments(fake_clock)


def test_the_daily_totals_count_each_payment_on_its_hong_kong_creation_day(history):
    assert maintained_buckets(db.session, DAILY_TOTALS) == {
        (MAR_1, "antom", "settled", "HKD"): (1, 1000),
        (MAR_2, "antom", "failed", "HKD"): (2, 2100),
        (MAR_2, "worldpay", "failed", "USD"): (1, 500),
        (MAR_2, "antom", "pending", "HKD"): (1, 700),
        (MAR_2, "antom", "expired", "JPY"): (1, 300),
        (MAR_2, "antom", "succeeded", "HKD"): (1, 3000),
    }


def test_the_wallets_count_finished_and_paid_payments_in_either_spelling_of_the_wallet(history):
    # (finished, paid); the pending one is not finished, so its unknown wallet has no bucket.
    assert maintained_buckets(db.session, DAILY_WALLETS) == {
        (MAR_1, "antom", "HKD", "ALIPAY_HK"): (1, 1),
        (MAR_2, "antom", "HKD", "GCASH"): (2, 0),
        (MAR_2, "worldpay", "USD", "ALIPAY_HK"): (1, 0),
        (MAR_2, "antom", "JPY", "ALIPAY_HK"): (1, 0),
        (MAR_2, "antom", "HKD", "ALIPAY_HK"): (1, 1),
    }


def test_a_paid_payment_that_fails_to_settle_stays_finished_and_is_paid_no_more(history, fake_clock):
    moved_at = "2026-03-03 09:00:00"
    moved(fake_clock, history["paid"], moved_at, PaymentEvent.SETTLEMENT_FAILED, "SETTLEMENT_FAILED")
    assert maintained_buckets(db.session, DAILY_WALLETS)[MAR_2, "antom", "HKD", "ALIPAY_HK"] == (1, 0)
    assert maintained_buckets(db.session, DAILY_FAILURES)[MAR_2, "antom", "HKD", "SETTLEMENT_FAILED"] == (
        1,
        3000,
    )
    # It finished when it was paid: its time to a final status stays where it was.
    assert maintained_buckets(db.session, FINISH_TIMES)[MAR_2, "antom", "HKD", 200] == (1,)


def test_failures_are_counted_under_the_result_code_the_payment_holds(history):
    # The Worldpay payment failed with REFUSED, then a note gave it ERROR: it counts under ERROR.
    assert maintained_buckets(db.session, DAILY_FAILURES) == {
        (MAR_2, "antom", "HKD", "USER_BALANCE_NOT_ENOUGH"): (1, 2000),
        (MAR_2, "antom", "HKD", ""): (1, 100),
        (MAR_2, "worldpay", "USD", "ERROR"): (1, 500),
    }


def test_a_result_kept_apart_from_a_move_moves_the_failure_too(history):
    changes.keep_result(db.session, history["usd"], "REFUSED", "refused again")
    changes.keep_result(db.session, history["paid"], "SOMETHING", "not failed: no failure bucket")
    failures = maintained_buckets(db.session, DAILY_FAILURES)
    assert failures[MAR_2, "worldpay", "USD", "REFUSED"] == (1, 500)
    assert (MAR_2, "worldpay", "USD", "ERROR") not in failures
    assert len(failures) == 3


def test_time_to_final_counts_whole_seconds_from_creation_into_its_bucket(history):
    # "late" was created at 15:59:59.999999 and succeeded at 16:00:03: 4 whole seconds, bucket ≤ 5 s.
    assert maintained_buckets(db.session, FINISH_TIMES) == {
        (MAR_1, "antom", "HKD", 5): (1,),
        (MAR_2, "antom", "HKD", 50): (1,),
        (MAR_2, "worldpay", "USD", 100): (1,),
        (MAR_2, "antom", "JPY", 100): (1,),
        (MAR_2, "antom", "HKD", 1): (1,),
        (MAR_2, "antom", "HKD", 200): (1,),
    }


@pytest.mark.parametrize(
    ("seconds", "bucket"), [(-3, 1), (0, 1), (1, 1), (2, 2), (3, 5), (50, 50), (51, 100), (10**7, 10**9)]
)
def test_finish_buckets_are_the_one_two_five_scale_bounds_included(seconds, bucket):
    assert finish_bucket(seconds) == bucket


def test_every_rollup_rebuilt_from_the_payments_equals_the_maintained_one(history):
    comparisons = rebuild_rollups(db.session, HONG_KONG, replace=False)
    assert {c.table for c in comparisons} >= {"daily_totals", "daily_failures", "finish_times"}
    assert [c.differences for c in comparisons] == [[] for _ in comparisons]
    for comparison in comparisons:
        rollup = REBUILDERS[comparison.table].rollup
        assert comparison.buckets == len(maintained_buckets(db.session, rollup))
        # No refunds or notifications here.
        assert comparison.buckets > 0 or comparison.table.startswith(("refund_", "notification_"))


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"])
def test_the_rebuild_puts_payments_on_the_days_of_any_display_time_zone(app, app_ctx, fake_clock, zone):
    app.config["DISPLAY_TIMEZONE"] = zone
    try:
        # Either side of New York's spring-forward night, and of midnight in each zone.
        for when in (
            "2026-03-08 04:59:59",
            "2026-03-08 05:00:00",
            "2026-03-08 06:59:59",
            "2026-03-08 07:00:00",
        ):
            payment = created(fake_clock, when)
            moved(fake_clock, payment, when, PaymentEvent.FAILED, "X")
        for when in (
            "2026-03-08 13:29:59.9999",
            "2026-03-08 13:30:00",
            "2026-03-08 18:29:59",
            "2026-03-08 18:30:00",
        ):
            created(fake_clock, when)
        comparisons = rebuild_rollups(db.session, ZoneInfo(zone), replace=False)
    finally:
        app.config["DISPLAY_TIMEZONE"] = "Asia/Hong_Kong"
    assert [c.differences for c in comparisons] == [[] for _ in comparisons]


def test_a_damaged_rollup_is_reported_bucket_by_bucket_then_replaced(history):
    db.session.execute(update(DailyTotal).where(DailyTotal.status == "settled").values(count=5))
    db.session.execute(
        update(DailyTotal).where(DailyTotal.status == "pending").values(count=0, amount_minor=0)
    )

    (totals,) = [c for c in rebuild_rollups(db.session, HONG_KONG, replace=True) if c.table == "daily_totals"]

    assert [(d.key["status"], d.maintained, d.rebuilt) for d in totals.differences] == [
        ("settled", {"count": 5, "amount_minor": 1000}, {"count": 1, "amount_minor": 1000}),
        ("pending", {"count": 0, "amount_minor": 0}, {"count": 1, "amount_minor": 700}),
    ]
    again = rebuild_rollups(db.session, HONG_KONG, replace=False)
    assert [c.differences for c in again] == [[] for _ in again]


def test_the_rollups_command_checks_then_rebuilds(app, history):
    db.session.execute(update(DailyTotal).where(DailyTotal.status == "settled").values(count=5))
    db.session.commit()
    runner = app.test_cli_runner()

    checked = runner.invoke(args=["rollups", "rebuild", "--check"])
    assert checked.exit_code == 1, checked.output
    assert "daily_totals: 6 buckets rebuilt, 1 differ" in checked.output
    assert (
        "day=2026-03-01 provider='antom' status='settled' currency='HKD': "
        "maintained {'count': 5, 'amount_minor': 1000}, rebuilt {'count': 1, 'amount_minor': 1000}"
    ) in checked.output
    assert "replaced" not in checked.output

    rebuilt = runner.invoke(args=["rollups", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "replaced the content of every rollup" in rebuilt.output
    clean = runner.invoke(args=["rollups", "rebuild", "--check"])
    assert clean.exit_code == 0 and "1 differ" not in clean.output, clean.output
