"""The appliers take stored notifications in batches: each applied once, in order, alone when it fails."""

from __future__ import annotations

import threading

import pytest
from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from dashboard import jobs
from dashboard.extensions import db
from dashboard.notifications import handlers
from dashboard.notifications.tasks import APPLY_BATCH
from dashboard.notifications.tasks import APPLY_BATCH_ALONE
from dashboard.notifications.tasks import apply_next_notifications
from dashboard.notifications.tasks import apply_notification_task
from dashboard.payments.models import Payment
from dashboard.reports.models import DailyTotal
from tests.conftest import skip_unless_postgresql
from tests.notifications.notify_helpers import notes
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import status_changes
from tests.notifications.notify_helpers import totals
from tests.notifications.notify_helpers import waiting


def provider_payment_id(number: int) -> str:
    return f"20260105194010800100188{number:012d}"


def store_payment_results(app, count: int, *, first: int = 0) -> list[int]:
    """Store ``count`` successes of payments we never started (each makes one); return their amounts."""
    amounts = [10_000 + 7 * number for number in range(first, first + count)]
    for number, minor in enumerate(amounts, start=first):
        notice = payment_result(f"PAY-BATCH-{number}", provider_payment_id(number), minor=minor)
        post_antom(app, notice)
    return amounts


def payments_by_request_id() -> dict[str, Payment]:
    db.session.rollback()
    return {payment.request_id: payment for payment in db.session.scalars(select(Payment))}


def rollup_sums() -> dict[str, tuple[int, int]]:
    """The daily rollups summed by status: (count, amount in minor units), non-zero buckets."""
    db.session.rollback()
    statement = select(DailyTotal.status, func.sum(DailyTotal.count), func.sum(DailyTotal.amount_minor))
    rows = db.session.execute(statement.group_by(DailyTotal.status))
    return {status: (count, amount) for status, count, amount in rows if count or amount}


def queued(app) -> list[tuple[str, tuple]]:
    return [(task.name, task.args) for task in app.extensions["huey"].pending()]


def crashing_on(monkeypatch, request_id: str, error: BaseException) -> None:
    """Make applying the notification about ``request_id`` raise ``error``; the others apply as usual."""
    real = handlers.HANDLERS[handlers.PaymentNews]

    def crash_on_one(session, row, news):
        if news.request_id == request_id:
            raise error
        return real(session, row, news)

    monkeypatch.setitem(handlers.HANDLERS, handlers.PaymentNews, crash_on_one)


def test_a_notification_that_crashes_in_a_batch_is_set_aside_and_the_others_are_applied(
    sandboxed, monkeypatch
):
    amounts = store_payment_results(sandboxed.app, 5)
    crashing_on(monkeypatch, "PAY-BATCH-2", RuntimeError("database went away"))

    assert jobs.drain_once(sandboxed.app) == 5

    rows = notifications()
    assert [(row.outcome, row.attempts) for row in rows] == [("applied", 1)] * 2 + [("pending", 1)] + [
        ("applied", 1)
    ] * 2
    assert rows[2].processing_error == "RuntimeError: database went away"
    assert (apply_notification_task.name, (rows[2].id,)) in queued(sandboxed.app)
    assert sorted(payments_by_request_id()) == ["PAY-BATCH-0", "PAY-BATCH-1", "PAY-BATCH-3", "PAY-BATCH-4"]
    kept = sum(amounts) - amounts[2]
    assert rollup_sums() == {"succeeded": (4, kept)}

    monkeypatch.undo()
    sandboxed.run_jobs(scheduled=True)  # its retry
    row = notifications()[2]
    assert (row.outcome, row.attempts, row.processing_error) == ("applied", 2, None)
    assert rollup_sums() == {"succeeded": (5, sum(amounts))}


def test_a_contradiction_in_a_batch_is_failed_and_the_others_are_applied(sandboxed, charge):
    payment = charge(10001)
    store_payment_results(sandboxed.app, 2)
    post_antom(
        sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, "F", minor=10001)
    )
    store_payment_results(sandboxed.app, 2, first=2)

    assert jobs.drain_once(sandboxed.app) == 5

    rows = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert [row.outcome for row in rows] == ["applied", "applied", "failed", "applied", "applied"]
    assert "failed on succeeded" in rows[2].processing_error
    assert payments_by_request_id()[payment.request_id].status == "succeeded"
    assert totals() == {"succeeded": 5}


def test_a_crash_mid_batch_keeps_nothing_and_the_next_applier_takes_the_whole_batch(sandboxed, monkeypatch):
    amounts = store_payment_results(sandboxed.app, 4)
    stored = waiting()
    # The worker's process ends while applying the third: nothing of the batch was committed.
    crashing_on(monkeypatch, "PAY-BATCH-2", SystemExit(1))

    with pytest.raises(SystemExit):
        jobs.drain_once(sandboxed.app)

    assert waiting() == stored
    assert [row.attempts for row in notifications()] == [0] * 4
    assert payments_by_request_id() == {} and totals() == {}

    monkeypatch.undo()
    assert sandboxed.run_jobs() == 4
    assert [(row.outcome, row.attempts) for row in notifications()] == [("applied", 1)] * 4
    assert rollup_sums() == {"succeeded": (4, sum(amounts))}


def test_news_about_one_payment_in_one_batch_is_applied_in_the_order_it_came(sandboxed, charge):
    payment = charge(10002)  # in process
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    store_payment_results(sandboxed.app, 2)
    post_antom(
        sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, "F", minor=10002)
    )

    assert jobs.drain_once(sandboxed.app) == 4

    success, *_, failure = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (success.outcome, failure.outcome) == ("applied", "failed")
    assert status_changes("payment", payment.id) == [["pending", "processing"], ["processing", "succeeded"]]
    assert notes("payment", payment.id) == [(success.id, "applied")]


def test_rollups_of_several_batches_equal_the_sum_of_the_payments_applied(sandboxed):
    amounts = store_payment_results(sandboxed.app, APPLY_BATCH + 7)

    assert sandboxed.run_jobs() == APPLY_BATCH + 7

    payments = payments_by_request_id().values()
    assert {payment.status for payment in payments} == {"succeeded"}
    assert sum(payment.amount_minor for payment in payments) == sum(amounts)
    assert rollup_sums() == {"succeeded": (len(amounts), sum(amounts))}


def test_an_applier_holding_the_whole_database_applies_fewer_a_transaction(sandboxed):
    count = APPLY_BATCH_ALONE + 3
    store_payment_results(sandboxed.app, count)
    holds_all = db.engine.dialect.name == "sqlite"

    applied = apply_next_notifications()

    # SQLite: intake waits behind the applier's transaction; PostgreSQL: it locks only its rows.
    assert applied == (APPLY_BATCH_ALONE if holds_all else count)
    assert len(waiting()) == count - applied


@pytest.mark.postgres
def test_two_appliers_taking_batches_at_once_apply_each_notification_once(sandboxed):
    skip_unless_postgresql(current_app, "concurrent workers")
    count = 3 * APPLY_BATCH + 11
    amounts = store_payment_results(sandboxed.app, count)
    db.session.rollback()
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def applier() -> None:
        try:
            with sandboxed.app.app_context():
                barrier.wait(timeout=30)
                done.append(jobs.drain_once(sandboxed.app))
                db.session.remove()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(done) == count
    rows = notifications()
    assert [(row.outcome, row.attempts) for row in rows] == [("applied", 1)] * count
    payments = payments_by_request_id().values()
    assert len(payments) == count
    noted = [note for payment in payments for note in notes("payment", payment.id)]
    assert sorted(noted) == [(row.id, "applied") for row in rows]
    assert all(status_changes("payment", payment.id) == [["pending", "succeeded"]] for payment in payments)
    assert rollup_sums() == {"succeeded": (count, sum(amounts))}
    assert waiting() == []
