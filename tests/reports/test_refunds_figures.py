"""The refunds section's figures, against hand-counted refunds moved through the real refund changes."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments.changes import change_payment
from dashboard.payments.changes import change_refund
from dashboard.payments.changes import open_refund
from dashboard.payments.refunds import reject_refund
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.reports.models import gathered_rollup_moves
from dashboard.reports.refund_rollups import RefundApprovalWait
from dashboard.reports.refund_rollups import kept_refund_rollups
from dashboard.reports.refund_rollups import rebuild_refund_rollups
from dashboard.reports.refund_rollups import recounted_refund_rollups
from dashboard.reports.refund_rollups import wait_bucket
from dashboard.reports.refunds_figures import refund_figures
from tests.factories import make_payment
from tests.reports.helpers import report_filters

#: 23:30 on 4 February in Hong Kong (15:30 UTC); midnight there is 16:00 UTC.
BEFORE_MIDNIGHT = datetime(2026, 2, 4, 15, 30, tzinfo=UTC)
FEB_4, FEB_5, FEB_6 = date(2026, 2, 4), date(2026, 2, 5), date(2026, 2, 6)


@pytest.fixture
def managers(create_user) -> tuple[int, int]:
    """A support member who asks, and a manager who decides."""
    return create_user("support").id, create_user("manager").id


@pytest.fixture
def at(app_ctx, fake_clock):
    """Move the clock to a moment (forward only) and return it."""

    def move(moment: datetime) -> datetime:
        fake_clock.set(moment)
        return moment

    fake_clock.set(BEFORE_MIDNIGHT - timedelta(days=1))
    return move


def paid_payment(amount: int, currency: str = "HKD", provider: str = "antom"):
    payment = make_payment(db.session, amount_minor=amount, currency=currency, provider=provider)
    from dashboard.reports.models import move_in_rollup

    move_in_rollup(db.session, payment, None, "pending")
    change_payment(db.session, payment, PaymentEvent.SUCCEEDED)
    return payment


def ask(
    payment,
    amount: int,
    reason: str | None = "Customer request",
    *,
    waits: bool = False,
    by: int | None = None,
):
    return open_refund(
        db.session,
        payment,
        Money(amount, payment.currency),
        reason,
        f"rf-{payment.id}-{amount}-{reason}",
        by,
        awaiting_approval=waits,
    )


def approve(refund, manager: int) -> None:
    """What approving does to the refund's row (the provider call that follows is not needed here)."""
    from dashboard import clock

    refund.approved_by_id, refund.decided_at = manager, clock.now()
    change_refund(db.session, refund, RefundEvent.APPROVED, actor_id=manager)


def figures(first: date, last: date, **narrowed):
    return refund_figures(db.session, report_filters(first, last, **narrowed))


def test_an_empty_range_shows_no_refunds_and_no_waits(app_ctx):
    shown = figures(FEB_4, FEB_6)
    assert shown.currencies == ()
    assert shown.reasons == ()
    assert shown.failures == ()
    assert shown.waits.decided == 0
    assert shown.waits.median is None
    assert shown.waits.longest_seconds is None
    assert shown.waits.waiting_now == 0
    assert shown.refunded_over_time == {}


def test_a_single_refund_counts_as_refunded_on_the_day_it_was_asked_for(at):
    at(BEFORE_MIDNIGHT)
    payment = paid_payment(10_000)
    refund = ask(payment, 2_500)
    at(BEFORE_MIDNIGHT + timedelta(hours=2))  # the next day in Hong Kong
    change_refund(db.session, refund, RefundEvent.SUCCEEDED)

    shown = figures(FEB_4, FEB_4)
    [hkd] = shown.currencies
    assert (hkd.currency, hkd.asked, hkd.refunded_count, hkd.refunded) == ("HKD", 1, 1, Money(2_500, "HKD"))
    assert hkd.paid == Money(10_000, "HKD")
    assert hkd.rate == Decimal("25.00")
    assert (hkd.rejected_count, hkd.rejected) == (0, Money(0, "HKD"))
    [reason] = shown.reasons
    assert (reason.reason, reason.asked, reason.refunded_count, reason.refunded) == (
        "Customer request",
        1,
        1,
        Money(2_500, "HKD"),
    )
    assert shown.refunded_over_time == {"HKD": (("2026-02-04", Money(2_500, "HKD")),)}
    # Nothing on the day it succeeded, the 5th in Hong Kong.
    assert figures(FEB_5, FEB_5).currencies == ()


def test_the_day_boundary_is_midnight_in_hong_kong(at):
    at(BEFORE_MIDNIGHT)
    ask(paid_payment(1_000), 100)
    at(BEFORE_MIDNIGHT + timedelta(minutes=30))  # 00:00 on the 5th in Hong Kong
    ask(paid_payment(1_000), 200)

    assert [line.asked for line in figures(FEB_4, FEB_4).currencies] == [1]
    assert [line.asked for line in figures(FEB_5, FEB_5).currencies] == [1]
    assert [line.asked for line in figures(FEB_4, FEB_5).currencies] == [2]


def test_currencies_are_never_summed_together_and_filters_narrow(at):
    at(BEFORE_MIDNIGHT)
    hkd = paid_payment(10_000)
    usd = paid_payment(4_000, "USD", provider="worldpay")
    change_refund(db.session, ask(hkd, 1_000), RefundEvent.SUCCEEDED)
    change_refund(db.session, ask(usd, 1_000), RefundEvent.SUCCEEDED)
    change_refund(db.session, ask(usd, 500, "Duplicate charge"), RefundEvent.SUCCEEDED)

    shown = figures(FEB_4, FEB_4)
    assert [(line.currency, line.refunded, line.rate) for line in shown.currencies] == [
        ("HKD", Money(1_000, "HKD"), Decimal("10.00")),
        ("USD", Money(1_500, "USD"), Decimal("37.50")),
    ]
    assert [(line.reason, line.currency, line.asked) for line in shown.reasons] == [
        ("Customer request", "HKD", 1),
        ("Customer request", "USD", 1),
        ("Duplicate charge", "USD", 1),
    ]
    assert [line.currency for line in figures(FEB_4, FEB_4, currency="USD").currencies] == ["USD"]
    assert [line.currency for line in figures(FEB_4, FEB_4, provider="antom").currencies] == ["HKD"]


def test_a_paid_day_without_refunds_shows_a_zero_rate(at):
    at(BEFORE_MIDNIGHT)
    paid_payment(10_000)
    [hkd] = figures(FEB_4, FEB_4).currencies
    assert (hkd.asked, hkd.refunded, hkd.rate) == (0, Money(0, "HKD"), Decimal("0.00"))


def test_failed_refunds_count_by_provider_code_with_its_guidance(at):
    at(BEFORE_MIDNIGHT)
    payment = paid_payment(10_000)
    for amount in (100, 200):
        change_refund(
            db.session, ask(payment, amount), RefundEvent.FAILED, result_code="REFUND_AMOUNT_EXCEED"
        )
    change_refund(db.session, ask(payment, 300), RefundEvent.FAILED, result_code="SOMETHING_NEW")

    failures = figures(FEB_4, FEB_4).failures
    assert [(line.provider, line.code, line.count) for line in failures] == [
        ("antom", "REFUND_AMOUNT_EXCEED", 2),
        ("antom", "SOMETHING_NEW", 1),
    ]
    assert failures[0].guidance is not None and failures[0].guidance.meaning
    assert failures[1].guidance is None


def test_approval_waits_give_the_median_bucket_the_longest_wait_and_rejections(at, managers):
    support, manager = managers
    start = at(BEFORE_MIDNIGHT - timedelta(hours=1))
    payment = paid_payment(1_000_000)
    waiting = [ask(payment, amount, waits=True, by=support) for amount in (1_000, 2_000, 3_000, 4_000)]
    at(start + timedelta(minutes=10))
    approve(waiting[0], manager)  # 10 min
    at(start + timedelta(minutes=20))
    approve(waiting[1], manager)  # 20 min
    at(start + timedelta(hours=3))
    reject_refund(waiting[2].id, actor_id=manager)  # 3 h

    shown = figures(FEB_4, FEB_4)
    waits = shown.waits
    assert waits.decided == 3
    assert (waits.median.from_seconds, waits.median.to_seconds) == (900, 1800)  # 20 min: 15-30 min
    assert waits.longest_seconds == 3 * 3600
    assert (waits.waiting_now, waits.oldest_waiting_since) == (1, start)
    [hkd] = shown.currencies
    assert (hkd.rejected_count, hkd.rejected) == (1, Money(3_000, "HKD"))
    assert hkd.asked == 4


def test_wait_buckets_start_where_their_bound_is():
    assert [wait_bucket(seconds) for seconds in (0, 59, 60, 299, 604_799, 604_800, 10**7)] == [
        0,
        0,
        60,
        60,
        172_800,
        604_800,
        604_800,
    ]


def test_rollups_rebuilt_from_the_refunds_equal_the_kept_ones(at, managers):
    support, manager = managers
    at(BEFORE_MIDNIGHT)
    payment = paid_payment(1_000_000)
    change_refund(db.session, ask(payment, 100), RefundEvent.SUCCEEDED)
    change_refund(db.session, ask(payment, 200, None), RefundEvent.FAILED, result_code="X")
    waited = ask(payment, 300, waits=True, by=support)
    at(BEFORE_MIDNIGHT + timedelta(hours=5))
    approve(waited, manager)
    change_refund(db.session, waited, RefundEvent.PROCESSING)

    kept = kept_refund_rollups(db.session)
    assert kept == recounted_refund_rollups(db.session)
    assert rebuild_refund_rollups(db.session) == []

    db.session.execute(RefundApprovalWait.__table__.update().values(count=7))
    differences = rebuild_refund_rollups(db.session)
    assert len(differences) == 1 and "refund_approval_waits" in differences[0]
    assert db.session.scalars(select(RefundApprovalWait.count)).all() == [1]


def test_section_shows_charts_with_text_tables_and_guidance(app, client, login_as, fake_clock):
    fake_clock.set(BEFORE_MIDNIGHT)
    with app.test_request_context():
        payment = paid_payment(10_000)
        change_refund(db.session, ask(payment, 2_500), RefundEvent.SUCCEEDED)
        change_refund(db.session, ask(payment, 100), RefundEvent.FAILED, result_code="REFUND_AMOUNT_EXCEED")
        db.session.commit()
    login_as("manager")

    response = client.get(
        "/reports/refunds?range=custom&day_from=2026-02-04&day_to=2026-02-04", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, response.headers

    assert 'data-live-topic="payment"' in html
    assert html.count('role="img"') == 4  # refunded per day (HKD), reasons, waits, failures
    assert "<title" in html and "Refunded over time, HKD" in html
    assert (
        '<th scope="row">HKD</th><td class="num">2</td><td class="num">1</td><td class="num">HK$25.00</td>'
        in html
    )
    assert "25.00" in html
    assert "REFUND_AMOUNT_EXCEED" in html
    assert "No guidance yet for this code." not in html
    rows = client.get("/reports/refunds/failures.csv?range=custom&day_from=2026-02-04&day_to=2026-02-04")
    assert "REFUND_AMOUNT_EXCEED,1," in rows.get_data(as_text=True)


def test_refunded_money_is_shown_per_day_up_to_two_months_then_per_month(at):
    at(BEFORE_MIDNIGHT)
    change_refund(db.session, ask(paid_payment(10_000), 700), RefundEvent.SUCCEEDED)
    at(BEFORE_MIDNIGHT + timedelta(days=30))  # 6 March in Hong Kong
    change_refund(db.session, ask(paid_payment(10_000), 300), RefundEvent.SUCCEEDED)

    daily = figures(FEB_4, FEB_4 + timedelta(days=61)).refunded_over_time["HKD"]
    assert len(daily) == 62 and daily[0] == ("2026-02-04", Money(700, "HKD"))
    assert daily[30] == ("2026-03-06", Money(300, "HKD"))
    assert sum(amount.minor for _, amount in daily) == 1_000
    monthly = figures(date(2026, 1, 1), date(2026, 3, 31)).refunded_over_time
    assert monthly == {
        "HKD": (("2026-01", Money(0, "HKD")), ("2026-02", Money(700, "HKD")), ("2026-03", Money(300, "HKD")))
    }


def test_refund_moves_in_a_gathered_block_are_written_once_at_its_end(at, managers):
    support, manager = managers
    at(BEFORE_MIDNIGHT)
    payment = paid_payment(10_000)
    waited = ask(payment, 300, waits=True, by=support)
    with gathered_rollup_moves(db.session):
        change_refund(db.session, ask(payment, 100), RefundEvent.SUCCEEDED)
        approve(waited, manager)
        assert kept_refund_rollups(db.session)["refund_daily_totals"] == {
            (FEB_4, "antom", "awaiting_approval", "HKD", "Customer request", ""): (1, 300)
        }
    assert kept_refund_rollups(db.session) == {
        "refund_daily_totals": {
            (FEB_4, "antom", "succeeded", "HKD", "Customer request", ""): (1, 100),
            (FEB_4, "antom", "submitted", "HKD", "Customer request", ""): (1, 300),
        },
        "refund_approval_waits": {(FEB_4, "antom", "HKD", 0): (1, 0)},
    }
