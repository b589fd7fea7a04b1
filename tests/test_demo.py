"""The demo writes its history through the real services and the simulators."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.declarations.models import Declaration
from dashboard.demo import PROGRESS_ARG
from dashboard.demo import Demo
from dashboard.demo import HistoryProgress
from dashboard.demo import has_history
from dashboard.demo import hold_pages_until_written
from dashboard.extensions import db
from dashboard.notifications.models import Notification
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.settlements.models import SettlementBatch


def statuses(column) -> set[str]:
    return set(db.session.scalars(select(column).distinct()))


def test_history_covers_the_outcomes_and_is_written_once(sandboxed):
    demo = Demo(sandboxed.app, seed=7)
    demo.seed_history(days=3, report=lambda _: None)

    assert {"active", "revoked", "expired"} <= statuses(Agreement.status)
    assert {"succeeded", "failed"} <= statuses(Payment.status)
    assert db.session.scalar(select(func.count(Refund.id))) > 0
    assert statuses(Notification.verdict) == {"valid"}
    assert "DISPUTE_CREATED" in statuses(Notification.kind)  # a customer disputed a payment
    assert "pending" not in statuses(Notification.outcome)
    oldest = db.session.scalar(select(func.min(Payment.created_at)))
    assert (clock.now() - oldest).days >= 2
    # With the simulator's spec-shaped events (no reference on refunded), every AlipayHK refund
    # ends: succeeded, or failed when magic 700 makes its reversal fail.
    worldpay_refunds = db.session.scalars(
        select(Refund.status).join(Payment).where(Payment.provider == "worldpay")
    ).all()
    assert worldpay_refunds and set(worldpay_refunds) <= {"succeeded", "failed"}
    refunded = db.session.scalars(select(Notification).where(Notification.kind == "refunded")).all()
    assert refunded and all(b'"reference"' not in row.body for row in refunded)
    assert {row.outcome for row in refunded} == {"applied"}
    # One paid payment declared to customs (Antom took it) and one AlipayHK payment Antom refused.
    assert statuses(Declaration.status) == {"submitted", "refused"}
    count = db.session.scalar(select(func.count(Payment.id)))

    demo.seed_history(days=3, report=lambda _: None)
    assert db.session.scalar(select(func.count(Payment.id))) == count


def test_the_last_days_are_settled_balanced_except_the_one_with_differences(sandboxed, monkeypatch):
    monkeypatch.setitem(sandboxed.sandbox.options, "SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES", "")
    demo = Demo(sandboxed.app, seed=11)
    demo.seed_history(days=4, report=lambda _: None)

    demo.settle_reports(days=3, differences_back=2, report=lambda _: None)

    def of(scope: str) -> list[SettlementBatch]:
        return db.session.scalars(
            select(SettlementBatch).where(SettlementBatch.scope == scope).order_by(SettlementBatch.day)
        ).all()

    batches = of("batch")
    assert [batch.day.isoformat() for batch in batches] == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert [batch.state for batch in batches] == ["balanced", "differences", "balanced"]
    assert all(batch.entry_count for batch in batches)
    # Each day's transactions report agrees with ours, status by status (the differences are the batch's).
    days = of("day")
    assert [(day.day.isoformat(), day.state) for day in days] == [
        ("2026-01-02", "balanced"),
        ("2026-01-03", "balanced"),
        ("2026-01-04", "balanced"),
    ]
    assert all(day.entry_count for day in days)


def test_staff_pages_wait_while_a_new_demo_writes_its_history(make_app):
    # The history is written on a clock set days back for the whole process; a sign-in meanwhile
    # would be stamped then, and its next page would sign the user out as idle.
    app = make_app(SANDBOX=True)
    with app.app_context():
        assert not has_history()
    progress = HistoryProgress()
    hold_pages_until_written(app, progress)
    progress.written = 5
    client = app.test_client()
    poll = {"HX-Request": "true"}

    waiting = client.get("/login")
    in_chinese = client.get("/login", headers={"Accept-Language": "zh-HK"})
    polled = client.get(f"/login?{PROGRESS_ARG}=1", headers=poll)
    other_htmx = client.get("/login", headers={"HX-Request": "true"})

    assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "2"
    page = waiting.get_data(as_text=True)
    assert "The demo is getting ready" in page and "5 of 21 days" in page
    assert 'id="demo-progress"' in page and 'hx-trigger="every 2s"' in page
    assert 'name="password"' not in page
    assert "示範版正在準備中" in in_chinese.get_data(as_text=True)
    assert polled.status_code == 200 and "5 of 21 days" in polled.get_data(as_text=True)
    assert other_htmx.status_code == 503 and other_htmx.headers["HX-Refresh"] == "true"
    # The simulators (the history is written through them) and the health check answer meanwhile.
    assert client.get("/sandbox/").status_code == 200
    assert client.get("/sandbox/no-such-page").status_code == 404
    assert client.get("/healthz").status_code == 200

    progress.done.set()
    done = client.get(f"/login?{PROGRESS_ARG}=1", headers=poll)
    assert done.status_code == 204 and done.headers["HX-Refresh"] == "true"
    assert 'name="password"' in client.get("/login").get_data(as_text=True)
