"""Recovery: a job crashing halfway, work a lost job left behind (the sweepers), jobs run twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select
from sqlalchemy import text

from dashboard import jobs
from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.agreements.tasks import apply_token_task
from dashboard.agreements.tasks import refresh_token_task
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.notifications import handlers
from dashboard.notifications import service
from dashboard.notifications.tasks import apply_notification_task
from dashboard.payments.models import Payment
from dashboard.payments.tasks import inquire_payment_task
from tests.conftest import skip_unless_postgresql
from tests.notifications.notify_helpers import kinds
from tests.notifications.notify_helpers import notes
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import status_changes
from tests.notifications.notify_helpers import totals
from tests.notifications.notify_helpers import waiting
from tests.sandbox import helpers


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


def queued(app) -> list[tuple[str, tuple]]:
    return [(task.name, task.args) for task in app.extensions["huey"].pending()]


def provider_calls(object_type: str, object_id: int) -> list[str]:
    db.session.rollback()
    return [
        summary["operation"]
        for summary in db.session.scalars(
            select(Event.summary)
            .where(
                Event.object_type == object_type,
                Event.object_id == str(object_id),
                Event.kind == "provider_call",
            )
            .order_by(Event.id)
        )
    ]


def payment_notice() -> int:
    [notification_id] = [row.id for row in notifications() if row.kind == "PAYMENT_RESULT"]
    return notification_id


# --- a job crashing halfway ----------------------------------------------------------------------------


def test_an_apply_crashing_after_changing_the_payment_commits_nothing_and_the_rerun_applies_it_once(
    sandboxed, charge, monkeypatch
):
    payment = charge(10002)
    real_noted = handlers._noted
    crashes = []

    def crash_in_the_first_run(session, row, object_type, object_id, outcome):
        if crashing:
            # Halfway: the payment has moved in this transaction, its timeline entry not written.
            crashes.append(session.get(Payment, object_id).status)
            raise RuntimeError("worker died halfway")
        return real_noted(session, row, object_type, object_id, outcome)

    crashing = True
    monkeypatch.setattr(handlers, "_noted", crash_in_the_first_run)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))

    assert sandboxed.run_jobs() == 1  # crashed; Huey keeps a retry for later
    assert crashes == ["succeeded", "succeeded"]  # its batch's try without savepoints, then with them
    crashing = False

    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.processed_at, row.attempts) == ("pending", None, 1)
    assert row.processing_error == "RuntimeError: worker died halfway"
    assert fresh(Payment, payment.id).status == "processing"
    assert status_changes("payment", payment.id) == [["pending", "processing"]]
    assert notes("payment", payment.id) == []
    assert totals() == {"processing": 1}

    assert sandboxed.run_jobs(scheduled=True) == 1  # the retry

    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts, row.processing_error) == ("applied", 2, None)
    assert fresh(Payment, payment.id).status == "succeeded"
    assert status_changes("payment", payment.id) == [["pending", "processing"], ["processing", "succeeded"]]
    assert notes("payment", payment.id) == [(row.id, "applied")]
    assert totals() == {"succeeded": 1}


def test_a_crash_that_outlives_the_retries_is_left_for_the_sweeper(
    sandboxed, charge, fake_clock, monkeypatch
):
    payment = charge(10002)
    real_noted = handlers._noted
    failing = [True]

    def crash_while_failing(*args, **kwargs):
        if failing[0]:
            raise RuntimeError("database went away")
        return real_noted(*args, **kwargs)

    monkeypatch.setattr(handlers, "_noted", crash_while_failing)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    sandboxed.run_jobs(scheduled=True)  # the first run and every retry crash

    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("pending", 4)
    assert fresh(Payment, payment.id).status == "processing"

    failing[0] = False
    fake_clock.advance(seconds=31)
    jobs.sweep()
    assert (apply_notification_task.name, (row.id,)) in queued(sandboxed.app)
    sandboxed.run_jobs()

    assert fresh(Payment, payment.id).status == "succeeded"
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("applied", 5)


# --- a crash between storing and applying -----------------------------------------------------------


def test_notifications_stored_while_no_worker_ran_are_applied_once_when_one_starts(sandboxed, charge):
    first, second = charge(10002), charge(10002)
    for payment in (first, second):
        notice = payment_result(payment.request_id, payment.provider_payment_id, minor=10002)
        post_antom(sandboxed.app, notice)
    stored = [row.id for row in notifications() if row.kind == "PAYMENT_RESULT"]
    # Acknowledged and stored; no job was queued that a crash could lose: the rows are the queue.
    assert waiting() == stored and queued(sandboxed.app) == []

    assert sandboxed.run_jobs() == 2  # a worker starts after the crash

    rows = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert [(row.id, row.outcome, row.attempts) for row in rows] == [
        (stored[0], "applied", 1),
        (stored[1], "applied", 1),
    ]
    assert [notes("payment", payment.id) for payment in (first, second)] == [
        [(stored[0], "applied")],
        [(stored[1], "applied")],
    ]
    assert totals() == {"succeeded": 2}
    assert sandboxed.run_jobs() == 0


@pytest.mark.postgres
def test_a_worker_dying_in_the_middle_of_an_apply_leaves_the_notification_to_the_next(sandboxed, charge):
    skip_unless_postgresql(current_app, "concurrent workers")
    payment = charge(10002)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    notification_id = payment_notice()
    dying = db.engine.connect()
    try:
        # A worker has claimed the row (its transaction holds the lock) and is still applying it.
        dying.execute(text("SELECT id FROM notifications WHERE id = :id FOR UPDATE"), {"id": notification_id})
        assert sandboxed.run_jobs() == 0  # the other worker does not wait for it, nor take it
    finally:
        dying.close()  # it dies: its transaction is gone, nothing of it was kept

    assert sandboxed.run_jobs() == 1
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("applied", 1)
    assert notes("payment", payment.id) == [(row.id, "applied")]


# --- the sweepers --------------------------------------------------------------------------------------


def test_a_notification_stored_but_never_queued_is_applied_by_the_sweeper_after_30_seconds(
    sandboxed, charge, fake_clock
):
    payment = charge(10002)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    sandboxed.app.extensions["huey"].flush()  # the process died between the commit and the enqueue
    notification_id = payment_notice()

    fake_clock.advance(seconds=29)
    jobs.sweep()
    assert queued(sandboxed.app) == []

    fake_clock.advance(seconds=2)
    jobs.sweep()
    assert queued(sandboxed.app) == [(apply_notification_task.name, (notification_id,))]
    sandboxed.run_jobs()

    assert fresh(Payment, payment.id).status == "succeeded"
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("applied", 1)
    fake_clock.advance(seconds=60)
    jobs.sweep()  # processed: never queued again
    assert queued(sandboxed.app) == []


def test_the_sweeper_leaves_processed_rejected_and_duplicate_notifications_alone(
    sandboxed, charge, fake_clock
):
    payment = charge(10001)
    body = payment_result(payment.request_id, payment.provider_payment_id, "F", minor=10001)
    post_antom(sandboxed.app, body)
    post_antom(sandboxed.app, body)
    post_antom(sandboxed.app, body, client_id="SANDBOX_SOMEONE_ELSE")
    sandboxed.run_jobs()
    outcomes = sorted(row.outcome for row in notifications() if row.kind == "PAYMENT_RESULT")
    assert outcomes == ["duplicate", "failed", "rejected"]

    fake_clock.advance(minutes=5)
    jobs.sweep()

    assert queued(sandboxed.app) == []


def test_the_payment_sweeper_asks_again_about_a_payment_stuck_in_processing(sandboxed, charge, fake_clock):
    payment = charge(10005)  # Antom answered U (it did take the money); the inquiry job was lost
    assert payment.status == "processing"

    fake_clock.advance(minutes=9)
    jobs.sweep()
    assert queued(sandboxed.app) == []

    fake_clock.advance(minutes=2)
    jobs.sweep()
    assert queued(sandboxed.app) == [(inquire_payment_task.name, (payment.id, 0))]
    sandboxed.run_jobs()

    assert fresh(Payment, payment.id).status == "succeeded"
    assert provider_calls("payment", payment.id) == ["pay", "inquiryPayment"]
    assert totals() == {"succeeded": 1}


def test_the_agreement_sweeper_expires_a_consult_nobody_completed(sandboxed, fake_clock):
    agreement = agreements.start_consult("ALIPAY_HK", "cust-walked-away")

    fake_clock.advance(hours=23)
    jobs.sweep()
    assert fresh(Agreement, agreement.id).status == "pending"

    fake_clock.advance(hours=2)
    jobs.sweep()

    assert fresh(Agreement, agreement.id).status == "expired"
    assert status_changes("agreement", agreement.id) == [["pending", "expired"]]


def test_the_agreement_sweeper_refreshes_a_token_close_to_its_expiry(sandboxed, agreement, fake_clock):
    old_token, old_expiry = agreement.access_token, agreement.access_token_expires_at
    assert old_expiry is not None

    fake_clock.set(old_expiry - agreements.REFRESH_AHEAD - timedelta(hours=1))
    jobs.sweep()
    assert queued(sandboxed.app) == []  # not due yet

    fake_clock.advance(days=1)
    jobs.sweep()
    sandboxed.run_jobs()

    agreement = fresh(Agreement, agreement.id)
    assert agreement.status == "active"
    assert agreement.access_token != old_token
    assert agreement.access_token_expires_at > old_expiry
    assert kinds("agreement", agreement.id)[-2:] == ["provider_call", "token_refreshed"]
    assert provider_calls("agreement", agreement.id)[-1] == "applyToken"


# --- jobs run twice ------------------------------------------------------------------------------------


def test_applying_a_notification_twice_changes_nothing_the_second_time(sandboxed, charge):
    payment = charge(10002)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    notification_id = payment_notice()
    apply_notification_task.enqueue(notification_id)  # e.g. the sweeper and the original job

    assert sandboxed.run_jobs() == 2
    after_jobs = kinds("payment", payment.id)
    assert apply_notification_task(notification_id) == "applied"  # and once more, by hand

    assert kinds("payment", payment.id) == after_jobs
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("applied", 1)
    assert status_changes("payment", payment.id)[-1] == ["processing", "succeeded"]
    assert totals() == {"succeeded": 1}


def test_inquiring_twice_about_a_payment_asks_the_provider_once_it_is_settled(sandboxed, charge):
    payment = charge(10005)
    inquire_payment_task.enqueue(payment.id, 0)
    inquire_payment_task.enqueue(payment.id, 0)

    assert sandboxed.run_jobs() == 2

    assert fresh(Payment, payment.id).status == "succeeded"
    assert provider_calls("payment", payment.id) == ["pay", "inquiryPayment"]
    assert len(status_changes("payment", payment.id)) == 2
    assert inquire_payment_task(payment.id, 0) == "succeeded"
    assert provider_calls("payment", payment.id) == ["pay", "inquiryPayment"]


def test_apply_token_twice_exchanges_the_code_once(sandboxed):
    agreement = agreements.start_consult("ALIPAY_HK", "cust-twice")
    assert helpers.answer_consent(agreement.auth_url).status_code == 303
    sandboxed.deliver()  # AUTHCODE_CREATED reaches the webhook; its apply job is queued
    [notification_id] = [row.id for row in notifications()]
    assert service.apply(notification_id) == "applied"  # queues applyToken after its commit
    apply_token_task.enqueue(agreement.id)  # and a second one (a sweeper, a retry)

    sandboxed.run_jobs()

    agreement = fresh(Agreement, agreement.id)
    assert agreement.status == "active" and agreement.auth_code is None
    assert provider_calls("agreement", agreement.id) == ["consult", "applyToken"]
    assert status_changes("agreement", agreement.id) == [["pending", "active"]]
    assert apply_token_task(agreement.id) == "active"
    assert provider_calls("agreement", agreement.id) == ["consult", "applyToken"]


def test_refreshing_a_token_twice_renews_it_once(sandboxed, agreement, fake_clock):
    """Two sweeps before a worker gets to the queue (two consumers each run the periodic sweep)."""
    fake_clock.set(agreement.access_token_expires_at - timedelta(days=2))
    jobs.sweep()
    jobs.sweep()
    assert [name for name, _ in queued(sandboxed.app)] == [refresh_token_task.name] * 2

    sandboxed.run_jobs()
    token = fresh(Agreement, agreement.id).access_token
    assert refresh_token_task(agreement.id) == "active"  # and once more, by hand

    agreement = fresh(Agreement, agreement.id)
    assert agreement.access_token == token
    assert provider_calls("agreement", agreement.id) == ["consult", "applyToken", "applyToken"]
    assert kinds("agreement", agreement.id).count("token_refreshed") == 1
    assert "token_refresh_failed" not in kinds("agreement", agreement.id)


@pytest.mark.parametrize("outcome", ["late", "unmatched"])
def test_processed_notifications_are_not_applied_again_by_their_job(sandboxed, charge, outcome):
    if outcome == "late":
        payment = charge(10001)
        body = payment_result(payment.request_id, payment.provider_payment_id, "U", minor=10001)
        body["notifyType"] = "PAYMENT_PENDING"  # after "succeeded": out of order
    else:
        body = {"authorizationNotifyType": "TOKEN_CANCELED", "accessToken": "not-ours", "result": {}}
    post_antom(sandboxed.app, body)
    sandboxed.run_jobs()
    row = notifications()[-1]
    assert row.outcome == outcome
    events = db.session.scalar(select(db.func.count(Event.id)))

    assert apply_notification_task(row.id) == outcome

    assert db.session.scalar(select(db.func.count(Event.id))) == events
    assert notifications()[-1].attempts == 1
