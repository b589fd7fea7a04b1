"""Applying stored notifications exactly once: duplicates, forgeries, reordering, unknown objects,
contradictions, reprocessing, and two workers at once (PostgreSQL)."""

from __future__ import annotations

import json
import threading

import pytest
from flask import current_app
from sqlalchemy import select
from sqlalchemy import text

from dashboard import clock
from dashboard import jobs
from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.notifications import service
from dashboard.payments import changes
from dashboard.payments import service as payments
from dashboard.payments import worldpay as worldpay_flow
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.providers.antom.provider import ANTOM
from dashboard.sandbox import antom as antom_simulator
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import transaction
from tests.conftest import skip_unless_postgresql
from tests.notifications.notify_helpers import ANTOM_ACK
from tests.notifications.notify_helpers import ANTOM_PATH
from tests.notifications.notify_helpers import antom_headers
from tests.notifications.notify_helpers import kinds
from tests.notifications.notify_helpers import notes
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import post_worldpay
from tests.notifications.notify_helpers import status_changes
from tests.notifications.notify_helpers import timeline
from tests.notifications.notify_helpers import token_canceled
from tests.notifications.notify_helpers import totals
from tests.notifications.notify_helpers import waiting
from tests.notifications.notify_helpers import worldpay_event
from tests.sandbox import worldpay_helpers as wh


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


@pytest.fixture
def sale(sandboxed) -> Payment:
    """An AlipayHK sale through Worldpay, waiting for the shopper (processing)."""
    payment = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 42")
    sandboxed.app.extensions["huey"].flush()
    assert payment.status == "processing"
    return payment


# --- duplicates and forgeries --------------------------------------------------------------------------


def test_a_redelivered_antom_notification_is_a_duplicate_of_the_first_and_changes_nothing(sandboxed, charge):
    payment = charge(10002)
    assert payment.status == "processing"
    body = payment_result(payment.request_id, payment.provider_payment_id, minor=10002)

    first = post_antom(sandboxed.app, body)
    second = post_antom(sandboxed.app, body)
    assert first.get_data() == second.get_data() == ANTOM_ACK
    assert sandboxed.run_jobs() == 1
    third = post_antom(sandboxed.app, body)  # after it was applied
    assert third.get_data() == ANTOM_ACK
    assert sandboxed.run_jobs() == 0

    original, *copies = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (original.outcome, original.duplicate_of_id) == ("applied", None)
    assert [(row.outcome, row.duplicate_of_id, row.verdict) for row in copies] == [
        ("duplicate", original.id, "valid"),
        ("duplicate", original.id, "valid"),
    ]
    assert all(row.processed_at is not None for row in copies)
    assert fresh(Payment, payment.id).status == "succeeded"
    assert status_changes("payment", payment.id) == [["pending", "processing"], ["processing", "succeeded"]]
    assert notes("payment", payment.id) == [(original.id, "applied")]
    assert totals() == {"succeeded": 1}


def test_a_redelivered_worldpay_event_is_a_duplicate_by_event_id(sandboxed, sale):
    body = worldpay_event(sale.request_id, "authorized", event_id="ev-dup-1")

    assert post_worldpay(sandboxed.app, body).status_code == 200
    # A redelivery may differ in its bytes (spacing) but carries the same eventId.
    assert post_worldpay(sandboxed.app, json.dumps(body, indent=2).encode()).status_code == 200
    # One waits to be applied: the copy is stored as a duplicate, never applied.
    assert len(waiting()) == 1
    sandboxed.run_jobs()

    original, copy = notifications()
    assert (original.outcome, copy.outcome, copy.duplicate_of_id) == ("applied", "duplicate", original.id)
    assert status_changes("payment", sale.id)[-1] == ["processing", "succeeded"]
    assert len(status_changes("payment", sale.id)) == 2


def test_a_forged_post_first_cannot_preempt_the_real_notification(sandboxed, charge):
    payment = charge(10002)
    body = json.dumps(payment_result(payment.request_id, payment.provider_payment_id, minor=10002)).encode()
    merchant_key = sandboxed.sandbox.keys.merchant.private_key
    client = sandboxed.app.test_client()

    forged = client.post(ANTOM_PATH, data=body, headers=antom_headers(sandboxed.app, body, key=merchant_key))
    real = client.post(ANTOM_PATH, data=body, headers=antom_headers(sandboxed.app, body))
    sandboxed.run_jobs()

    assert forged.get_data() != ANTOM_ACK and real.get_data() == ANTOM_ACK
    bad, good = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (bad.verdict, bad.outcome, bad.dedup_key) == ("invalid", "rejected", None)
    assert (good.verdict, good.outcome, good.duplicate_of_id) == ("valid", "applied", None)
    assert fresh(Payment, payment.id).status == "succeeded"


# --- reordering and late news --------------------------------------------------------------------------


def test_worldpay_events_out_of_order_never_move_the_status_backwards(sandboxed, sale):
    order = ["sentForSettlement", "authorized", "settled", "authorized", "sentForSettlement"]
    for number, kind in enumerate(order):
        event = worldpay_event(sale.request_id, kind, event_id=f"ev-{number}")
        assert post_worldpay(sandboxed.app, event).status_code == 200
    sandboxed.run_jobs()

    rows = notifications()
    # authorized after sentForSettlement confirms "succeeded"; after "settled" it is out of order.
    assert [row.outcome for row in rows] == ["applied", "applied", "applied", "late", "late"]
    assert fresh(Payment, sale.id).status == "settled"
    assert status_changes("payment", sale.id) == [
        ["pending", "processing"],
        ["processing", "succeeded"],
        ["succeeded", "settled"],
    ]
    assert notes("payment", sale.id) == [(row.id, row.outcome) for row in rows]
    assert totals() == {"settled": 1}


def test_antom_success_after_our_status_is_succeeded_confirms_it_on_the_timeline(sandboxed, charge):
    payment = charge(10001)
    assert payment.status == "succeeded"
    before = status_changes("payment", payment.id)

    body = payment_result(payment.request_id, payment.provider_payment_id, minor=10001)
    response = post_antom(sandboxed.app, body)
    sandboxed.run_jobs()

    assert response.get_data() == ANTOM_ACK
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.object_type, row.object_id) == ("applied", "payment", str(payment.id))
    assert row.processed_at is not None
    assert status_changes("payment", payment.id) == before
    assert notes("payment", payment.id) == [(row.id, "applied")]
    assert totals() == {"succeeded": 1}


def test_antom_pending_after_our_status_is_succeeded_is_late(sandboxed, charge):
    payment = charge(10001)
    body = {**payment_result(payment.request_id, payment.provider_payment_id, "U", minor=10001)}
    body["notifyType"] = "PAYMENT_PENDING"

    post_antom(sandboxed.app, body)
    sandboxed.run_jobs()

    [row] = [row for row in notifications() if row.kind == "PAYMENT_PENDING"]
    assert row.outcome == "late"
    assert fresh(Payment, payment.id).status == "succeeded"
    assert notes("payment", payment.id) == [(row.id, "late")]


def test_an_antom_success_arriving_after_our_cancel_is_late_and_the_payment_stays_cancelled(
    sandboxed, charge
):
    payment = charge(10001)  # paid at once; Antom's PAYMENT_RESULT is on its way
    cancel = payments.cancel_payment(payment.id, "cx-late-1", "duplicate order")
    assert (cancel.status, fresh(Payment, payment.id).status) == ("succeeded", "cancelled")

    sandboxed.settle()  # the success notification, sent before the cancel, arrives after it

    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    # antom.md §5.4: a cancelled payment "stays so even if a success notification arrives later".
    assert (row.outcome, row.processing_error) == ("late", None)
    assert fresh(Payment, payment.id).status == "cancelled"
    assert status_changes("payment", payment.id)[-1] == ["succeeded", "cancelled"]
    assert notes("payment", payment.id) == [(row.id, "late")]
    assert totals() == {"cancelled": 1}


def test_a_notification_applied_before_the_pay_answer_is_committed_leaves_the_answer_nothing_to_do(
    sandboxed, agreement, monkeypatch
):
    """DESIGN §3: the pending row is committed before the call, so early news finds it."""
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "notify_before_response", "pay", remaining=1)
    client = ANTOM.client()
    pay = client.pay

    def pay_while_a_worker_applies_the_notification(request):
        answer = pay(request)  # Antom POSTed PAYMENT_RESULT to the webhook before answering
        assert sandboxed.run_jobs() == 1  # a worker applies it before the answer is committed
        return answer

    monkeypatch.setattr(client, "pay", pay_while_a_worker_applies_the_notification)

    payment = payments.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")

    assert (payment.status, payment.provider_payment_id is not None) == ("succeeded", True)
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.object_id) == ("applied", str(payment.id))
    assert status_changes("payment", payment.id) == [["pending", "succeeded"]]
    assert kinds("payment", payment.id) == ["created", "status_changed", "notification", "provider_call"]
    assert totals() == {"succeeded": 1}


def refund_result(refund: Refund, status: str = "SUCCESS") -> dict:
    """A notifyRefund body (antom.md §5.7: no paymentId)."""
    return {
        "notifyType": "REFUND_RESULT",
        "result": {
            "resultCode": status,
            "resultStatus": "S" if status == "SUCCESS" else "F",
            "resultMessage": "ok",
        },
        "refundStatus": status,
        "refundRequestId": refund.request_id,
        "refundId": refund.provider_refund_id or "2026010619401080010018880209876543",
        "refundAmount": {"currency": refund.currency, "value": str(refund.amount_minor)},
        "refundTime": "2026-01-06T09:30:05+08:00",
    }


def test_an_antom_refund_result_told_twice_and_asked_about_refunds_once(sandboxed, charge):
    payment = charge(10001)
    refund = payments.refund_payment(payment.id, Money(2002, "HKD"), None, payments.new_refund_request_id())
    assert refund.status == "processing"
    sandboxed.app.extensions["huey"].flush()
    body = refund_result(refund)

    post_antom(sandboxed.app, body)
    post_antom(sandboxed.app, json.dumps(body, indent=2).encode())
    sandboxed.run_jobs()
    payments.inquire_refund(refund.id)  # the inquiry answers the same news once more

    rows = [row for row in notifications() if row.kind == "REFUND_RESULT"]
    assert [row.outcome for row in rows] == ["applied", "duplicate"]
    assert fresh(Refund, refund.id).status == "succeeded"
    assert fresh(Payment, payment.id).refunded_minor == 2002
    refund_moves = [
        e.summary["status"] for e in timeline("payment", payment.id) if e.kind == "refund_status_changed"
    ]
    assert refund_moves == [["submitted", "processing"], ["processing", "succeeded"]]


def test_worldpay_reversal_events_out_of_order_and_redelivered_refund_once(sandboxed, fake_clock):
    sale = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 43")
    wh.choose(sale.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    refund = payments.refund_payment(sale.id, Money(2345, "HKD"), "late", payments.new_refund_request_id())
    assert refund.status == "processing"
    before = len(notifications())

    # As the Events spec shows it: refunded names no refund, only the sale and the amount.
    refunded = worldpay_event(sale.request_id, "refunded", event_id="ev-rf-2", minor=2345)
    sent = worldpay_event(
        sale.request_id, "sentForRefund", event_id="ev-rf-1", minor=2345, reference=refund.request_id
    )
    for body in (refunded, sent, refunded):
        assert post_worldpay(sandboxed.app, body).status_code == 200
    sandboxed.run_jobs()

    assert [row.outcome for row in notifications()[before:]] == ["applied", "late", "duplicate"]
    assert fresh(Refund, refund.id).status == "succeeded"
    payment = fresh(Payment, sale.id)
    assert (payment.refunded_minor, payment.status) == (2345, "settled")  # T+1 compressed to nothing


# --- objects we do not know ----------------------------------------------------------------------------


def test_an_antom_payment_we_never_created_is_recorded_from_its_notification(sandboxed):
    body = payment_result("PAY-ELSEWHERE-1", "202601051940108001001888C0201234567", minor=12850)

    post_antom(sandboxed.app, body)
    sandboxed.run_jobs()

    [row] = notifications()
    payment = db.session.scalars(select(Payment)).one()
    assert (payment.provider, payment.request_id, payment.provider_payment_id) == (
        "antom",
        "PAY-ELSEWHERE-1",
        "202601051940108001001888C0201234567",
    )
    assert (payment.amount, payment.status, payment.agreement_id) == (Money(12850, "HKD"), "succeeded", None)
    assert payment.paid_at is not None
    assert (row.outcome, row.object_type, row.object_id) == ("applied", "payment", str(payment.id))
    assert status_changes("payment", payment.id) == [["pending", "succeeded"]]
    assert totals() == {"succeeded": 1}


def test_an_unknown_worldpay_reference_is_unmatched_and_reprocessing_applies_it_once_the_payment_exists(
    sandboxed, monkeypatch
):
    event = worldpay_event("wp-arrived-early", "authorized", event_id="ev-early-1")
    assert post_worldpay(sandboxed.app, event).status_code == 200
    sandboxed.run_jobs()
    [row] = notifications()
    assert (row.outcome, row.object_type, row.processed_at is not None) == ("unmatched", None, True)
    assert db.session.scalars(select(Payment)).all() == []

    monkeypatch.setattr(worldpay_flow, "new_request_id", lambda prefix="": "wp-arrived-early")
    sale = payments.create_alipayhk_payment(Money(12345, "HKD"), "Order 7")
    sandboxed.app.extensions["huey"].flush()
    service.reprocess(row.id)
    assert [row.outcome for row in notifications()] == ["pending"]
    sandboxed.run_jobs()

    [row] = notifications()
    assert (row.outcome, row.object_id, row.attempts) == ("applied", str(sale.id), 2)
    assert fresh(Payment, sale.id).status == "succeeded"


def test_reprocess_is_refused_for_unverified_and_duplicate_notifications(sandboxed, sale):
    body = worldpay_event(sale.request_id, "authorized", event_id="ev-r-1")
    post_worldpay(sandboxed.app, body)
    post_worldpay(sandboxed.app, body)
    post_worldpay(sandboxed.app, body, signature="1/SHA256/" + "0" * 64)
    _, duplicate, forged = notifications()

    with pytest.raises(service.ReprocessRefused, match="duplicate"):
        service.reprocess(duplicate.id)
    with pytest.raises(service.ReprocessRefused, match="never applied"):
        service.reprocess(forged.id)
    with pytest.raises(service.ReprocessRefused):
        service.reprocess(10**9)


# --- agreements ----------------------------------------------------------------------------------------


def test_token_canceled_while_we_are_revoking_confirms_the_revoke(sandboxed, agreement):
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "http_503", "revoke", remaining=1)
    pending_revoke = agreements.revoke(agreement.id, "customer asked")
    assert (pending_revoke.status, pending_revoke.revoke_requested_at is not None) == ("active", True)
    sandboxed.app.extensions["huey"].flush()

    post_antom(sandboxed.app, token_canceled(agreement.access_token))
    sandboxed.run_jobs()

    agreement = fresh(Agreement, agreement.id)
    assert (agreement.status, agreement.cancelled_at) == ("revoked", None)
    assert agreement.revoked_at is not None and agreement.revoke_reason == "customer asked"
    row = notifications()[-1]
    assert (row.kind, row.outcome, row.object_id) == ("TOKEN_CANCELED", "applied", str(agreement.id))


def test_token_canceled_we_did_not_ask_for_means_the_customer_cancelled(sandboxed, agreement):
    post_antom(sandboxed.app, token_canceled(agreement.access_token, reason="moved to another shop"))
    sandboxed.run_jobs()

    agreement = fresh(Agreement, agreement.id)
    assert (agreement.status, agreement.cancel_reason) == ("cancelled_by_customer", "moved to another shop")
    assert agreement.cancelled_at is not None and agreement.revoked_at is None
    assert status_changes("agreement", agreement.id)[-1] == ["active", "cancelled_by_customer"]
    # Told again (a redelivery with other bytes is still the same token's cancellation): nothing moves.
    post_antom(sandboxed.app, token_canceled(agreement.access_token, reason="again"))
    sandboxed.run_jobs()
    assert [row.outcome for row in notifications()[-2:]] == ["applied", "duplicate"]


def test_token_canceled_for_a_token_we_do_not_hold_is_unmatched(sandboxed):
    post_antom(sandboxed.app, token_canceled("28100103_20260105_NOT_OURS"))
    sandboxed.run_jobs()

    [row] = notifications()
    assert (row.outcome, row.object_type) == ("unmatched", None)


# --- contradictions ------------------------------------------------------------------------------------


def test_a_failure_after_a_success_is_failed_with_the_error_and_changes_nothing(sandboxed, charge):
    payment = charge(10001)
    result_code = payment.result_code
    body = payment_result(payment.request_id, payment.provider_payment_id, "F", minor=10001)

    assert post_antom(sandboxed.app, body).get_data() == ANTOM_ACK
    sandboxed.run_jobs()

    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.processed_at, row.attempts) == ("failed", None, 1)
    assert "InvalidTransition" in row.processing_error and "failed on succeeded" in row.processing_error
    payment = fresh(Payment, payment.id)
    assert (payment.status, payment.result_code) == ("succeeded", result_code)
    assert totals() == {"succeeded": 1}

    # Staff reprocess it: it runs again and, the contradiction standing, fails again.
    service.reprocess(row.id)
    sandboxed.run_jobs()
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("failed", 2)
    assert fresh(Payment, payment.id).status == "succeeded"


# --- two workers at once (PostgreSQL: SQLite serialises writers with BEGIN IMMEDIATE) -------------------


def _at_once(app, work, count: int = 2) -> tuple[list, list[BaseException]]:
    """Run ``work()`` in ``count`` threads, each in its own app context, released together."""
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results.append(work())
                db.session.remove()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.postgres
def test_two_workers_applying_the_same_notification_apply_it_once(sandboxed, charge):
    skip_unless_postgresql(current_app, "concurrent workers")
    payment = charge(10002)
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10002))
    sandboxed.app.extensions["huey"].flush()
    [notification_id] = [row.id for row in notifications() if row.kind == "PAYMENT_RESULT"]
    db.session.rollback()

    results, errors = _at_once(sandboxed.app, lambda: service.apply(notification_id))

    assert errors == []
    assert results == ["applied", "applied"]
    [row] = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert (row.outcome, row.attempts) == ("applied", 1)
    assert status_changes("payment", payment.id) == [["pending", "processing"], ["processing", "succeeded"]]
    assert notes("payment", payment.id) == [(row.id, "applied")]
    assert totals() == {"succeeded": 1}


@pytest.mark.postgres
def test_two_appliers_draining_the_inbox_at_once_apply_every_notification_once(sandboxed, charge):
    skip_unless_postgresql(current_app, "concurrent workers")
    charged = [charge(10002) for _ in range(6)]
    for payment in charged:
        notice = payment_result(payment.request_id, payment.provider_payment_id, minor=10002)
        post_antom(sandboxed.app, notice)
    db.session.rollback()

    results, errors = _at_once(sandboxed.app, lambda: jobs.drain_once(sandboxed.app))

    assert errors == []
    assert sum(results) == len(charged)
    rows = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    assert [(row.outcome, row.attempts) for row in rows] == [("applied", 1)] * len(charged)
    for payment, row in zip(charged, rows, strict=True):
        assert notes("payment", payment.id) == [(row.id, "applied")]
    assert totals() == {"succeeded": len(charged)}
    assert waiting() == [] and sandboxed.run_jobs() == 0


@pytest.mark.postgres
def test_two_deliveries_of_the_same_body_at_once_store_one_primary_and_one_duplicate(sandboxed, charge):
    skip_unless_postgresql(current_app, "concurrent workers")
    payment = charge(10002)
    body = json.dumps(payment_result(payment.request_id, payment.provider_payment_id, minor=10002)).encode()
    headers = antom_headers(sandboxed.app, body)
    app = sandboxed.app

    results, errors = _at_once(app, lambda: app.test_client().post(ANTOM_PATH, data=body, headers=headers))

    assert errors == []
    assert [(r.status_code, r.get_data()) for r in results] == [(200, ANTOM_ACK)] * 2
    rows = [row for row in notifications() if row.kind == "PAYMENT_RESULT"]
    primary = [row for row in rows if row.duplicate_of_id is None]
    assert len(rows) == 2 and len(primary) == 1
    assert [row.duplicate_of_id for row in rows if row is not primary[0]] == [primary[0].id]
    assert waiting() == [primary[0].id]
    sandboxed.run_jobs()
    assert fresh(Payment, payment.id).status == "succeeded"
    assert len(status_changes("payment", payment.id)) == 2


def _wait_for(done: threading.Event, blocked) -> None:
    """Wait until ``done`` is set or ``blocked()`` says the other worker waits on a row lock."""
    for _ in range(3000):
        if done.wait(0.01) or blocked():
            return
    raise AssertionError("the other worker neither finished nor blocked")


def _someone_waits_for_a_lock() -> bool:
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return waiting > 0


def _race_with_an_inquiry(app, notification_id: int, change: str, inquire, monkeypatch) -> dict[str, object]:
    """Apply a notification in one worker while another commits an inquiry's answer about the same
    object: the applying worker is held just before it changes the object until the inquiry has
    committed, or is waiting for the applying worker's lock. Return both results; raise any error."""
    read, inquired = threading.Event(), threading.Event()
    real_change = getattr(changes, change)
    errors: list[BaseException] = []
    results: dict[str, object] = {}

    def held_change(*args, **kwargs):
        if threading.current_thread() is worker:
            read.set()
            _wait_for(inquired, _someone_waits_for_a_lock)
        return real_change(*args, **kwargs)

    def apply() -> None:
        try:
            with app.app_context():
                results["apply"] = service.apply(notification_id)
                db.session.remove()
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            read.set()

    def other() -> None:
        try:
            with app.test_request_context():
                read.wait(timeout=30)
                results["inquiry"] = inquire()
                db.session.remove()
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            inquired.set()

    monkeypatch.setattr(changes, change, held_change)
    worker, inquirer = threading.Thread(target=apply), threading.Thread(target=other)
    worker.start()
    inquirer.start()
    worker.join(timeout=60)
    inquirer.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.postgres
def test_a_payment_notification_and_an_inquiry_at_once_both_finish_cleanly(sandboxed, charge, monkeypatch):
    """The worker applying the notification holds the payment, so the inquiry waits for it and then
    finds nothing to do, instead of changing it underneath (which crashed the apply: retry, error)."""
    skip_unless_postgresql(current_app, "concurrent workers")
    payment = charge(10005)  # answered U; Antom has it paid
    post_antom(sandboxed.app, payment_result(payment.request_id, payment.provider_payment_id, minor=10005))
    sandboxed.app.extensions["huey"].flush()
    [notification_id] = [row.id for row in notifications() if row.kind == "PAYMENT_RESULT"]
    payment_id = payment.id
    db.session.rollback()

    results = _race_with_an_inquiry(
        sandboxed.app,
        notification_id,
        "change_payment",
        lambda: payments.inquire_payment(payment_id),
        monkeypatch,
    )

    assert results == {"apply": "applied", "inquiry": "succeeded"}
    assert status_changes("payment", payment_id) == [["pending", "processing"], ["processing", "succeeded"]]
    assert totals() == {"succeeded": 1}


@pytest.mark.postgres
def test_a_refund_notification_and_an_inquiry_at_once_both_finish_cleanly(sandboxed, charge, monkeypatch):
    skip_unless_postgresql(current_app, "concurrent workers")
    payment = charge(10001)
    refund = payments.refund_payment(payment.id, Money(2002, "HKD"), None, payments.new_refund_request_id())
    sandboxed.app.extensions["huey"].flush()
    with transaction(sandboxed.sandbox.engine) as session:  # Antom finishes it; its notice is not sent
        antom_simulator.tick(sandboxed.sandbox, session, clock.now())
    post_antom(sandboxed.app, refund_result(refund))
    sandboxed.app.extensions["huey"].flush()
    [notification_id] = [row.id for row in notifications() if row.kind == "REFUND_RESULT"]
    refund_id, payment_id = refund.id, payment.id
    db.session.rollback()

    results = _race_with_an_inquiry(
        sandboxed.app,
        notification_id,
        "change_refund",
        lambda: payments.inquire_refund(refund_id),
        monkeypatch,
    )

    assert results == {"apply": "applied", "inquiry": "succeeded"}
    assert fresh(Payment, payment_id).refunded_minor == 2002
    moves = [
        e.summary["status"] for e in timeline("payment", payment_id) if e.kind == "refund_status_changed"
    ]
    assert moves == [["submitted", "processing"], ["processing", "succeeded"]]
