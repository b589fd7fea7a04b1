"""Payments, refunds and cancels through the real services, the simulators over HTTP and the webhooks."""

from __future__ import annotations

import json
import re

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import NOT_ACTIVE_BECAUSE
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.notifications.models import Notification
from dashboard.payments import service
from dashboard.payments.changes import SEND_CANCEL
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import DuplicateRefund
from dashboard.payments.states import RefundExceedsBalance
from dashboard.payments.tasks import sweep_open_payments
from dashboard.reports.models import DailyTotal
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import transaction
from dashboard.users import service as users
from tests.agreements.test_agreement_service import authorised
from tests.conftest import TEST_PASSWORD
from tests.factories import make_agreement
from tests.factories import make_refund
from tests.notifications.test_apply import _at_once
from tests.sandbox import worldpay_helpers as wh


@pytest.fixture
def agreement(sandboxed) -> Agreement:
    return authorised(sandboxed)


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


def timeline(payment_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.kind)
            .where(Event.object_type == "payment", Event.object_id == str(payment_id))
            .order_by(Event.id)
        )
    )


def totals() -> dict[str, int]:
    rows = db.session.scalars(select(DailyTotal)).all()
    return {row.status: row.count for row in rows if row.count}


def test_an_auto_debit_that_succeeds_at_once_is_succeeded_and_counted(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")

    assert (payment.status, payment.provider_payment_id is not None) == ("succeeded", True)
    assert payment.paid_at is not None and payment.expires_at is not None
    sandboxed.settle()
    assert totals() == {"succeeded": 1}
    assert timeline(payment.id)[:3] == ["created", "provider_call", "status_changed"]
    # notifyPayment confirms the answer: stored, applied to the timeline, and nothing moves.
    [notice] = db.session.scalars(select(Notification).where(Notification.kind == "PAYMENT_RESULT")).all()
    assert notice.outcome == "applied" and notice.object_id == str(payment.id)


def _sent_settlement_currency(payment_id: int) -> str:
    return _sent_pay(payment_id)["settlementStrategy"]["settlementCurrency"]


def _sent_pay(payment_id: int) -> dict:
    """Return the body of the pay request sent for ``payment_id`` (as its timeline keeps it)."""
    call = db.session.scalars(
        select(Event.summary).where(
            Event.object_type == "payment", Event.object_id == str(payment_id), Event.kind == "provider_call"
        )
    ).first()
    return json.loads(call["request_body"])


def test_one_request_id_charges_once_and_a_second_ask_names_the_first_payment(sandboxed, agreement):
    first = service.charge_agreement(
        agreement.id, Money(10001, "HKD"), "June plan", request_id="pay-form-7", merchant_reference="ORD-7"
    )

    with pytest.raises(service.DuplicateCharge) as again:
        service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan", request_id="pay-form-7")

    assert again.value.payment_id == first.id
    db.session.rollback()
    assert db.session.scalar(select(func.count(Payment.id))) == 1
    assert timeline(first.id).count("provider_call") == 1
    sent = _sent_pay(first.id)
    assert sent["paymentRequestId"] == "pay-form-7" and sent["order"]["referenceOrderId"] == "ORD-7"


def test_two_submits_of_one_charge_at_once_make_one_payment(sandboxed, agreement):
    def submit():
        try:
            return service.charge_agreement(
                agreement.id, Money(10001, "HKD"), "June plan", request_id="pay-form-twice"
            ).id
        except service.DuplicateCharge as duplicate:
            return ("duplicate", duplicate.payment_id)

    results, errors = _at_once(sandboxed.app, submit)

    assert errors == []
    db.session.rollback()
    [made] = db.session.scalars(select(Payment.id).where(Payment.request_id == "pay-form-twice")).all()
    assert sorted(results, key=str) == sorted([made, ("duplicate", made)], key=str)
    assert timeline(made).count("provider_call") == 1


def test_without_a_merchant_reference_the_order_is_referenced_by_our_request_id(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")

    assert payment.merchant_reference is None
    assert _sent_pay(payment.id)["order"]["referenceOrderId"] == payment.request_id


@pytest.mark.parametrize("status", ["pending", "expired", "revoked", "cancelled_by_customer", "failed"])
def test_a_charge_of_an_agreement_that_is_not_active_is_refused_and_nothing_is_stored(app_ctx, status):
    agreement = make_agreement(db.session, status=status)
    db.session.commit()

    with pytest.raises(service.PaymentRefused) as refused:
        service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan", request_id="pay-refused")

    assert str(refused.value) == NOT_ACTIVE_BECAUSE[status]
    assert db.session.scalar(select(func.count(Payment.id))) == 0
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_an_agreement_staff_asked_to_revoke_is_not_charged(app_ctx):
    agreement = make_agreement(db.session, status="active", revoke_requested_at=clock.now())
    agreement.set_access_token("token-still-valid-abcd")
    db.session.commit()

    with pytest.raises(service.PaymentRefused, match="staff asked to revoke it"):
        service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")

    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_a_charge_in_another_currency_settles_in_the_contracts_hkd(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(2001, "USD"), "June plan")

    assert (payment.status, payment.currency) == ("succeeded", "USD")
    assert _sent_settlement_currency(payment.id) == "HKD"


def test_a_settlement_currency_outside_the_contract_fails_the_charge(sandboxed, agreement, monkeypatch):
    # The merchant set ANTOM_SETTLEMENT_CURRENCY to USD; the contract (the simulator's) settles in HKD.
    monkeypatch.setitem(sandboxed.app.config, "ANTOM_SETTLEMENT_CURRENCY", "USD")
    monkeypatch.delitem(sandboxed.app.extensions, "antom_client", raising=False)

    payment = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    sandboxed.settle()

    assert (payment.status, payment.result_code) == ("failed", "SETTLE_CONTRACT_NOT_MATCH")
    assert _sent_settlement_currency(payment.id) == "USD"
    assert totals() == {"failed": 1}


@pytest.mark.parametrize(
    ("minor", "final", "code"),
    [(10002, "succeeded", None), (10003, "failed", "USER_BALANCE_NOT_ENOUGH")],
)
def test_an_auto_debit_in_process_is_settled_by_its_notification(sandboxed, agreement, minor, final, code):
    payment = service.charge_agreement(agreement.id, Money(minor, "HKD"), "June plan")
    assert payment.status == "processing"

    sandboxed.settle()

    payment = fresh(Payment, payment.id)
    assert payment.status == final
    assert code is None or payment.result_code == code
    assert totals() == {final: 1}


def test_an_unknown_answer_is_resolved_by_inquiry(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(10005, "HKD"), "June plan")
    assert payment.status == "processing"

    sandboxed.run_jobs(scheduled=True)

    payment = fresh(Payment, payment.id)
    assert payment.status == "succeeded"
    calls = db.session.scalars(
        select(Event.summary).where(
            Event.object_type == "payment", Event.object_id == str(payment.id), Event.kind == "provider_call"
        )
    ).all()
    assert [call["operation"] for call in calls] == ["pay", "inquiryPayment"]


def test_an_auto_debit_still_unknown_at_its_expiry_is_cancelled(sandboxed, agreement, fake_clock):
    payment = service.charge_agreement(agreement.id, Money(10002, "HKD"), "June plan")
    fake_clock.advance(minutes=2)
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "http_503", "inquiryPayment", remaining=1)

    service.inquire_payment(payment.id)

    payment = fresh(Payment, payment.id)
    assert payment.status == "cancelled"
    assert timeline(payment.id)[-5:] == [
        "provider_call",
        "cancel_requested",
        "provider_call",
        "cancel_status_changed",
        "status_changed",
    ]


def test_an_auto_debit_the_provider_closed_at_expiry_is_failed_by_inquiry(sandboxed, agreement, fake_clock):
    payment = service.charge_agreement(agreement.id, Money(10004, "HKD"), "June plan")
    fake_clock.advance(minutes=2)

    service.inquire_payment(payment.id)

    payment = fresh(Payment, payment.id)
    assert (payment.status, payment.result_code) == ("failed", "ORDER_IS_CLOSED")
    assert "cancel_requested" not in timeline(payment.id)


def test_refunds_never_exceed_the_payment_and_a_request_id_is_used_once(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    request_id = service.new_refund_request_id()

    refund = service.refund_payment(payment.id, Money(4001, "HKD"), "damaged", request_id)

    assert refund.status == "succeeded" and refund.provider_refund_id
    assert fresh(Payment, payment.id).refunded_minor == 4001
    with pytest.raises(DuplicateRefund):
        service.refund_payment(payment.id, Money(4001, "HKD"), "damaged", request_id)
    with pytest.raises(RefundExceedsBalance):
        service.refund_payment(payment.id, Money(6001, "HKD"), "again", service.new_refund_request_id())
    assert db.session.scalar(select(Refund.id).where(Refund.amount_minor == 6001)) is None


def test_a_refund_in_process_is_finished_by_its_notification(sandboxed, agreement):
    payment = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    refund = service.refund_payment(payment.id, Money(2002, "HKD"), None, service.new_refund_request_id())
    assert refund.status == "processing"

    sandboxed.settle()

    assert fresh(Refund, refund.id).status == "succeeded"
    assert fresh(Payment, payment.id).refunded_minor == 2002
    assert "refund_status_changed" in timeline(payment.id)


def test_cancel_refunds_a_paid_auto_debit_but_not_one_with_refunds_or_a_worldpay_sale(sandboxed, agreement):
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    cancel = service.cancel_payment(paid.id, "cx-1", "duplicate order")
    assert cancel.status == "succeeded"
    assert fresh(Payment, paid.id).status == "cancelled"

    refunded = service.charge_agreement(agreement.id, Money(20001, "HKD"), "July plan")
    service.refund_payment(refunded.id, Money(1001, "HKD"), None, service.new_refund_request_id())
    with pytest.raises(service.CancelRefused, match="refunds"):
        service.cancel_payment(refunded.id, "cx-2", None)
    sale = service.create_alipayhk_payment(Money(5000, "HKD"), "Order 1")
    with pytest.raises(service.CancelRefused, match="refund them instead"):
        service.cancel_payment(sale.id, "cx-3", None)


@pytest.mark.parametrize(
    ("choice", "final"),
    [
        # This app's simulator compresses every delay to nothing: the T+1 batch settles at once.
        ("capture", "settled"),
        ("authorise", "succeeded"),
        ("refuse", "failed"),
        ("cancel", "cancelled"),
        ("expire", "expired"),
    ],
)
def test_an_alipayhk_sale_follows_the_shoppers_choice_by_webhook(sandboxed, fake_clock, choice, final):
    payment = service.create_alipayhk_payment(Money(12345, "HKD"), "Order 42")
    assert payment.status == "processing" and payment.redirect_url

    assert wh.choose(payment.redirect_url, choice).status_code == 303
    fake_clock.advance(seconds=1)
    sandboxed.settle()

    payment = fresh(Payment, payment.id)
    assert payment.status == final
    received = db.session.scalars(select(Notification)).all()
    assert received and all(n.verdict == "valid" and n.outcome == "applied" for n in received)


def test_an_alipayhk_refund_uses_fresh_actions_and_finishes_by_webhook(sandboxed, fake_clock):
    payment = service.create_alipayhk_payment(Money(12345, "HKD"), "Order 43")
    wh.choose(payment.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    sandboxed.settle()

    refund = service.refund_payment(payment.id, Money(2345, "HKD"), "late", service.new_refund_request_id())
    assert refund.status == "processing"
    fake_clock.advance(seconds=1)
    sandboxed.settle()

    assert fresh(Refund, refund.id).status == "succeeded"
    assert fresh(Payment, payment.id).refunded_minor == 2345
    operations = [
        summary["operation"]
        for summary in db.session.scalars(
            select(Event.summary).where(
                Event.object_type == "payment",
                Event.object_id == str(payment.id),
                Event.kind == "provider_call",
            )
        )
    ]
    # Events carry no actions: each one applied is followed by a query, and the refund by its own.
    assert operations[0] == "create_payment" and operations.count("partial_reverse") == 1
    assert set(operations[1:]) == {"query_payment", "partial_reverse"}
    assert operations[operations.index("partial_reverse") - 1] == "query_payment"


def _queued(app) -> list[str]:
    return [task.name for task in app.extensions["huey"].pending()]


def test_a_cancel_still_unknown_after_three_answers_is_left_for_antom_support(
    sandboxed, agreement, fake_clock
):
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "unknown_exception", "cancel")  # Antom keeps answering U

    cancel = service.cancel_payment(paid.id, "cx-unknown", "duplicate order")
    assert (cancel.status, cancel.unknown_answers) == ("processing", 1)
    for _ in range(3):
        fake_clock.advance(minutes=1)
        sandboxed.run_jobs(scheduled=True)

    cancel = fresh(Cancel, cancel.id)
    assert (cancel.status, cancel.unknown_answers, cancel.result_code) == (
        "processing",
        3,
        "UNKNOWN_EXCEPTION",
    )
    assert "Antom support" in cancel.result_message
    assert fresh(Payment, paid.id).status == "succeeded"
    calls = [kind for kind in timeline(paid.id) if kind == "provider_call"]
    assert len(calls) == 4  # the pay, then the cancel three times
    assert timeline(paid.id)[-1] == "cancel_awaits_support"
    # Neither the queue nor the sweeper sends it again.
    assert SEND_CANCEL not in _queued(sandboxed.app)
    fake_clock.advance(minutes=15)
    sweep_open_payments()
    assert SEND_CANCEL not in _queued(sandboxed.app)
    service.send_cancel(cancel.id)
    assert len([kind for kind in timeline(paid.id) if kind == "provider_call"]) == 4


def test_a_cancel_unknown_twice_is_retried_and_succeeds_the_third_time(sandboxed, agreement, fake_clock):
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "unknown_exception", "cancel", remaining=2)

    cancel = service.cancel_payment(paid.id, "cx-retried", None)
    for _ in range(2):
        fake_clock.advance(minutes=1)
        sandboxed.run_jobs(scheduled=True)

    cancel = fresh(Cancel, cancel.id)
    assert (cancel.status, cancel.unknown_answers) == ("succeeded", 2)
    assert fresh(Payment, paid.id).status == "cancelled"
    assert "cancel_awaits_support" not in timeline(paid.id)


_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def staff_browser(sandboxed, role: str = "support") -> requests.Session:
    """Return a browser session signed in to the served sandboxed app as a new staff member of ``role``."""
    user = users.create_user(f"{role}@staff.example", "Desk", role, TEST_PASSWORD, must_change_password=False)
    db.session.commit()
    browser = requests.Session()
    token = _CSRF_INPUT.search(browser.get(f"{sandboxed.url}/login", timeout=5).text).group(1)
    form = {"csrf_token": token, "email": user.email, "password": TEST_PASSWORD}
    assert browser.post(f"{sandboxed.url}/login", data=form, timeout=5).url == f"{sandboxed.url}/"
    return browser


def test_the_payment_page_shows_a_cancel_left_for_support(sandboxed, agreement):
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "unknown_exception", "cancel", remaining=3)
    cancel = service.cancel_payment(paid.id, "cx-page", None)
    sandboxed.run_jobs(scheduled=True)
    sandboxed.run_jobs(scheduled=True)

    with staff_browser(sandboxed) as browser:
        page = browser.get(f"{sandboxed.url}/payments/{paid.id}", timeout=5).text

    assert f'id="cancel-{cancel.id}-support"' in page
    assert "Ask Antom support whether the payment was cancelled" in page
    assert "Cancel left unknown" in page


def test_a_cancel_keeps_antom_s_success_code_on_the_cancel_and_its_payment(sandboxed, agreement):
    unknown = service.charge_agreement(agreement.id, Money(10002, "HKD"), "June plan")  # U: in process
    assert fresh(Payment, unknown.id).result_code == "PAYMENT_IN_PROCESS"

    cancel = service.cancel_payment(unknown.id, "cx-kept", None)

    assert (cancel.status, cancel.result_code) == ("succeeded", "SUCCESS")
    payment = fresh(Payment, unknown.id)
    assert (payment.status, payment.result_code, payment.result_message) == ("cancelled", "SUCCESS", None)


def test_a_refund_sent_when_worldpay_offers_no_reversal_fails_instead_of_waiting_forever(
    sandboxed, fake_clock
):
    payment = service.create_alipayhk_payment(Money(12345, "HKD"), "Order 44")
    wh.choose(payment.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    refund = service.refund_payment(payment.id, Money(1000, "HKD"), None, service.new_refund_request_id())
    # A second refund checked against the actions offered then, sent after they were taken away.
    paid = fresh(Payment, payment.id)
    later = make_refund(db.session, paid, amount_minor=500, status="submitted")
    paid.actions = {}
    db.session.commit()
    later_id = later.id

    service.send_refund(later_id)

    later = fresh(Refund, later_id)
    assert (later.status, later.result_code) == ("failed", "REVERSAL_NOT_OFFERED")
    assert fresh(Refund, refund.id).status in ("processing", "succeeded")
    sent = db.session.scalars(select(Event.summary).where(Event.kind == "provider_call")).all()
    assert [call["operation"] for call in sent if call.get("refund_id") == later_id] == []  # nothing went out
