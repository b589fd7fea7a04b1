"""pay, inquiryPayment, cancel, refund and inquiryRefund against the simulator over HTTP."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest

from dashboard.money import Money
from dashboard.providers.antom import PaymentStatus
from dashboard.providers.antom import RefundRequest
from dashboard.providers.antom import RefundStatus
from dashboard.providers.base import CallOutcome
from dashboard.sandbox.antom import PAY_TRIGGERS
from dashboard.sandbox.antom import pay_plan
from tests.sandbox import helpers


@pytest.fixture
def access_token(sandbox, antom, run_due) -> str:
    token = helpers.token(antom, sandbox.url).access_token
    run_due()
    sandbox.receiver.reset()
    return token


def refund(antom, payment_id: str, minor: int, request_id: str | None = None, currency: str = "HKD"):
    return antom.refund(
        RefundRequest(
            refund_request_id=request_id or f"rf-{uuid.uuid4().hex}",
            payment_id=payment_id,
            amount=Money(minor, currency),
        )
    )


def test_pay_succeeds_and_notifies(sandbox, antom, access_token, run_due):
    paid = helpers.pay(antom, access_token, 10001)
    run_due()

    assert paid.outcome is CallOutcome.SUCCEEDED
    assert paid.payment_id and paid.amount == Money(10001, "HKD") and paid.payment_time
    [notice] = sandbox.receiver.received
    assert notice.json["notifyType"] == "PAYMENT_RESULT"
    assert notice.json["paymentId"] == paid.payment_id
    assert notice.json["result"]["resultStatus"] == "S"
    assert antom.verify_notification(notice.headers, notice.body, path="/webhooks/antom")


@pytest.mark.parametrize(("ending", "code"), sorted(PAY_TRIGGERS.items()))
def test_amount_triggers_give_each_documented_failure(sandbox, antom, access_token, run_due, ending, code):
    paid = helpers.pay(antom, access_token, 5000 + ending)
    run_due()

    assert (paid.outcome, paid.result_code) == (CallOutcome.FAILED, code)
    assert paid.result_message
    [notice] = sandbox.receiver.received
    assert notice.json["result"] == {**notice.json["result"], "resultCode": code, "resultStatus": "F"}


def test_in_process_payment_resolves_by_notification(sandbox, antom, access_token, run_due, fake_clock):
    paid = helpers.pay(antom, access_token, 10002)
    before = antom.inquiry_payment(payment_request_id=paid.payment_request_id)
    run_due()
    assert sandbox.receiver.received == []
    fake_clock.advance(seconds=1)
    run_due()
    after = antom.inquiry_payment(payment_id=paid.payment_id)

    assert (paid.outcome, paid.result_code) == (CallOutcome.UNKNOWN, "PAYMENT_IN_PROCESS")
    assert before.payment_status is PaymentStatus.PROCESSING
    assert after.payment_status is PaymentStatus.SUCCESS and after.payment_time
    assert [n.json["result"]["resultCode"] for n in sandbox.receiver.received] == ["SUCCESS"]


def test_in_process_payment_can_resolve_to_failure(sandbox, antom, access_token, run_due, fake_clock):
    paid = helpers.pay(antom, access_token, 10003)
    fake_clock.advance(seconds=1)
    run_due()

    after = antom.inquiry_payment(payment_request_id=paid.payment_request_id)
    assert (after.payment_status, after.payment_result_code) == (
        PaymentStatus.FAIL,
        "USER_BALANCE_NOT_ENOUGH",
    )
    assert sandbox.receiver.received[0].json["result"]["resultStatus"] == "F"


def test_unresolved_payment_expires_after_one_minute(sandbox, antom, access_token, run_due, fake_clock):
    paid = helpers.pay(antom, access_token, 10004)
    fake_clock.advance(seconds=59)
    run_due()
    still = antom.inquiry_payment(payment_request_id=paid.payment_request_id)
    fake_clock.advance(seconds=2)
    run_due()
    expired = antom.inquiry_payment(payment_request_id=paid.payment_request_id)
    again = helpers.pay(antom, access_token, 10004, request_id=paid.payment_request_id)

    assert still.payment_status is PaymentStatus.PROCESSING
    assert (expired.payment_status, expired.payment_result_code) == (PaymentStatus.FAIL, "ORDER_IS_CLOSED")
    assert (again.outcome, again.result_code) == (CallOutcome.FAILED, "ORDER_IS_CLOSED")


def test_unknown_exception_hides_a_payment_that_succeeded(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10005, request_id="pay-unknown-1")
    found = antom.inquiry_payment(payment_request_id="pay-unknown-1")

    assert (paid.outcome, paid.result_code) == (CallOutcome.UNKNOWN, "UNKNOWN_EXCEPTION")
    assert found.payment_status is PaymentStatus.SUCCESS


def test_traffic_limit_creates_nothing(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10006, request_id="pay-traffic-1")
    found = antom.inquiry_payment(payment_request_id="pay-traffic-1")

    assert (paid.outcome, paid.result_code) == (CallOutcome.UNKNOWN, "REQUEST_TRAFFIC_EXCEED_LIMIT")
    assert (found.outcome, found.result_code) == (CallOutcome.FAILED, "ORDER_NOT_EXIST")


def test_amount_ending_36_answers_invalid_access_token(sandbox, antom, access_token):
    assert helpers.pay(antom, access_token, 10036).result_code == "INVALID_ACCESS_TOKEN"


def test_pay_with_another_wallet_than_the_tokens_is_invalid_contract(sandbox, antom, access_token):
    assert helpers.pay(antom, access_token, 10001, wallet="GCASH").result_code == "INVALID_CONTRACT"


@pytest.mark.parametrize(("contract", "accepted"), [("HKD", "HKD"), ("USD", "USD")])
def test_pay_must_name_the_contracts_settlement_currency(
    sandbox, antom, access_token, run_due, monkeypatch, contract, accepted
):
    monkeypatch.setitem(sandbox.app.config, "SANDBOX_ANTOM_SETTLEMENT_CURRENCY", contract)
    other = "USD" if contract == "HKD" else "HKD"

    matching = helpers.pay(antom, access_token, 10001, settlement_currency=accepted)
    mismatched = helpers.pay(antom, access_token, 10001, "pay-mismatch-1", settlement_currency=other)
    run_due()

    assert matching.outcome is CallOutcome.SUCCEEDED
    assert (mismatched.outcome, mismatched.result_code) == (CallOutcome.FAILED, "SETTLE_CONTRACT_NOT_MATCH")
    assert mismatched.payment_id is None
    # Refused before a payment existed: nothing to inquire about, no notifyPayment.
    asked = antom.inquiry_payment(payment_request_id="pay-mismatch-1")
    assert asked.result_code == "ORDER_NOT_EXIST"
    assert sandbox.receiver.kinds() == ["PAYMENT_RESULT"]


def test_pay_without_settlement_strategy_settles_in_the_contracts_currency(sandbox, antom, access_token):
    body = {
        "productCode": "AGREEMENT_PAYMENT",
        "paymentRequestId": "pay-no-strategy-1",
        "paymentAmount": {"currency": "USD", "value": "2001"},
        "order": {"referenceOrderId": "ORD-1", "orderDescription": "Monthly plan"},
        "paymentMethod": {"paymentMethodType": helpers.WALLET, "paymentMethodId": access_token},
    }

    answer = helpers.raw_call(sandbox, "payments/pay", body)

    assert answer["result"]["resultStatus"] == "S"


def test_pay_with_expiry_beyond_one_minute_is_param_illegal(sandbox, antom, access_token, fake_clock):
    late = fake_clock.now() + timedelta(minutes=2)
    assert helpers.pay(antom, access_token, 10001, expiry_time=late).result_code == "PARAM_ILLEGAL"


def test_pay_is_idempotent_by_request_id(sandbox, antom, access_token, run_due):
    first = helpers.pay(antom, access_token, 10001, request_id="pay-same")
    second = helpers.pay(antom, access_token, 10001, request_id="pay-same")
    other = helpers.pay(antom, access_token, 10101, request_id="pay-same")
    run_due()

    assert second.outcome is CallOutcome.SUCCEEDED and second.payment_id == first.payment_id
    assert (other.outcome, other.result_code) == (CallOutcome.FAILED, "REPEAT_REQ_INCONSISTENT")
    assert len(sandbox.receiver.received) == 1


def test_realistic_mix_is_seeded_and_mostly_succeeds():
    plans = [pay_plan("seed", f"req-{n}", 10000) for n in range(2000)]
    kinds = Counter(kind for kind, _ in plans)

    assert plans == [pay_plan("seed", f"req-{n}", 10000) for n in range(2000)]
    assert 0.8 < kinds["S"] / 2000 < 0.9
    assert kinds["PENDING"] and kinds["F"]
    assert {code for kind, code in plans if kind == "F"} <= set(PAY_TRIGGERS.values())


def test_inquiry_of_unknown_payment_is_order_not_exist(sandbox, antom):
    found = antom.inquiry_payment(payment_id="nope")
    assert (found.outcome, found.result_code) == (CallOutcome.FAILED, "ORDER_NOT_EXIST")


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_a_paid_payment_then_pay_again_and_refund_are_refused(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10001)

    cancelled = antom.cancel(payment_id=paid.payment_id)
    twice = antom.cancel(payment_request_id=paid.payment_request_id)
    found = antom.inquiry_payment(payment_id=paid.payment_id)
    again = helpers.pay(antom, access_token, 10001, request_id=paid.payment_request_id)
    refunded = refund(antom, paid.payment_id, 101)

    assert cancelled.outcome is CallOutcome.SUCCEEDED and cancelled.cancel_time
    assert twice.outcome is CallOutcome.SUCCEEDED and twice.cancel_time == cancelled.cancel_time
    assert found.payment_status is PaymentStatus.CANCELLED
    assert again.result_code == "ORDER_IS_CANCELED"
    assert refunded.result_code == "ORDER_IS_CANCELED"


def test_cancel_window_ends_at_0015_gmt8_the_next_day(sandbox, antom, access_token, fake_clock):
    # The fake clock starts at 2026-01-05 02:00 UTC = 10:00 GMT+8; the window ends 2026-01-06 00:15 GMT+8.
    inside = helpers.pay(antom, access_token, 10001)
    outside = helpers.pay(antom, access_token, 10001)
    fake_clock.advance(hours=14, minutes=14)
    ok = antom.cancel(payment_id=inside.payment_id)
    fake_clock.advance(minutes=2)
    late = antom.cancel(payment_id=outside.payment_id)

    assert ok.outcome is CallOutcome.SUCCEEDED
    assert (late.outcome, late.result_code) == (CallOutcome.FAILED, "CANCEL_WINDOW_EXCEED")


def test_cancel_after_any_refund_is_process_fail(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10001)
    assert refund(antom, paid.payment_id, 101).outcome is CallOutcome.SUCCEEDED

    cancelled = antom.cancel(payment_id=paid.payment_id)

    assert (cancelled.outcome, cancelled.result_code) == (CallOutcome.FAILED, "PROCESS_FAIL")


def test_cancel_of_unknown_or_failed_payment(sandbox, antom, access_token):
    failed = helpers.pay(antom, access_token, 10011)

    assert antom.cancel(payment_id="nope").result_code == "ORDER_NOT_EXIST"
    assert antom.cancel(payment_id=failed.payment_id).result_code == "ORDER_STATUS_INVALID"


def test_cancel_stops_an_in_process_payment(sandbox, antom, access_token, run_due, fake_clock):
    paid = helpers.pay(antom, access_token, 10002)
    cancelled = antom.cancel(payment_request_id=paid.payment_request_id)
    fake_clock.advance(seconds=5)
    run_due()

    assert cancelled.outcome is CallOutcome.SUCCEEDED
    found = antom.inquiry_payment(payment_id=paid.payment_id)
    assert found.payment_status is PaymentStatus.CANCELLED
    assert sandbox.receiver.received == []


# -- refunds ----------------------------------------------------------------------------------


def test_refunds_add_up_to_the_payment_and_notify(sandbox, antom, access_token, run_due):
    paid = helpers.pay(antom, access_token, 10001)
    run_due()
    sandbox.receiver.reset()

    first = refund(antom, paid.payment_id, 5001)
    second = refund(antom, paid.payment_id, 5001)
    third = refund(antom, paid.payment_id, 1)
    run_due()
    found = antom.inquiry_payment(payment_id=paid.payment_id)

    assert first.outcome is CallOutcome.SUCCEEDED and first.refund_id and first.refund_time
    assert (second.outcome, second.result_code) == (CallOutcome.FAILED, "REFUND_AMOUNT_EXCEED")
    assert third.outcome is CallOutcome.SUCCEEDED
    assert [n.json["refundStatus"] for n in sandbox.receiver.received] == ["SUCCESS", "SUCCESS"]
    assert found.payment_status is PaymentStatus.SUCCESS
    assert [t.request_id for t in found.transactions] == [first.refund_request_id, third.refund_request_id]


def test_refund_in_process_resolves_by_notification(sandbox, antom, access_token, run_due, fake_clock):
    paid = helpers.pay(antom, access_token, 10001)
    run_due()
    sandbox.receiver.reset()

    pending = refund(antom, paid.payment_id, 102)
    before = antom.inquiry_refund(refund_request_id=pending.refund_request_id)
    fake_clock.advance(seconds=1)
    run_due()
    after = antom.inquiry_refund(refund_id=pending.refund_id)
    failing = refund(antom, paid.payment_id, 103)
    fake_clock.advance(seconds=1)
    run_due()
    failed = antom.inquiry_refund(refund_request_id=failing.refund_request_id)

    assert (pending.outcome, pending.result_code) == (CallOutcome.UNKNOWN, "REFUND_IN_PROCESS")
    assert before.refund_status is RefundStatus.PROCESSING
    assert after.refund_status is RefundStatus.SUCCESS and after.refund_time
    assert failed.refund_status is RefundStatus.FAIL
    assert [n.json["refundStatus"] for n in sandbox.receiver.received] == ["SUCCESS", "FAIL"]


def test_refund_rules(sandbox, antom, access_token, fake_clock):
    paid = helpers.pay(antom, access_token, 10001)
    failed = helpers.pay(antom, access_token, 10011)
    processing = helpers.pay(antom, access_token, 10002)

    assert refund(antom, "nope", 101).result_code == "ORDER_NOT_EXIST"
    assert refund(antom, failed.payment_id, 101).result_code == "ORDER_STATUS_INVALID"
    in_process = refund(antom, processing.payment_id, 101)
    assert (in_process.outcome, in_process.result_code) == (CallOutcome.UNKNOWN, "PAYMENT_IN_PROCESS")
    assert refund(antom, paid.payment_id, 101, currency="USD").result_code == "PARAM_ILLEGAL"
    assert refund(antom, paid.payment_id, 111).result_code == "MERCHANT_BALANCE_NOT_ENOUGH"
    fake_clock.advance(days=366)
    assert refund(antom, paid.payment_id, 101).result_code == "REFUND_WINDOW_EXCEED"


def test_refund_is_idempotent_by_request_id(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10001)

    first = refund(antom, paid.payment_id, 101, request_id="rf-same")
    second = refund(antom, paid.payment_id, 101, request_id="rf-same")
    other = refund(antom, paid.payment_id, 201, request_id="rf-same")

    assert second.outcome is CallOutcome.SUCCEEDED and second.refund_id == first.refund_id
    assert other.result_code == "REPEAT_REQ_INCONSISTENT"


def test_inquiry_of_unknown_refund_is_order_not_exist(sandbox, antom):
    assert antom.inquiry_refund(refund_request_id="nope").result_code == "ORDER_NOT_EXIST"


#: Seed-003 pay codes that come from rules rather than amount triggers, and where they are tested.
RULE_CODES = {
    "SUCCESS": "test_pay_succeeds_and_notifies",
    "PAYMENT_IN_PROCESS": "test_in_process_payment_resolves_by_notification",
    "ORDER_IS_CLOSED": "test_unresolved_payment_expires_after_one_minute",
    "UNKNOWN_EXCEPTION": "test_unknown_exception_hides_a_payment_that_succeeded",
    "REQUEST_TRAFFIC_EXCEED_LIMIT": "test_traffic_limit_creates_nothing",
    "INVALID_ACCESS_TOKEN": "test_amount_ending_36_answers_invalid_access_token",
    "ORDER_IS_CANCELED": "test_cancel_a_paid_payment_then_pay_again_and_refund_are_refused",
    "REPEAT_REQ_INCONSISTENT": "test_pay_is_idempotent_by_request_id",
    "PARAM_ILLEGAL": "test_pay_with_expiry_beyond_one_minute_is_param_illegal",
    "ORDER_NOT_EXIST": "test_inquiry_of_unknown_payment_is_order_not_exist",
    "KEY_NOT_FOUND": "test_unknown_client_id_and_key_version",
    "NO_INTERFACE_DEF": "test_missing_signature_unknown_api_and_bad_json",
}


def test_the_simulator_can_produce_every_seed_003_pay_code():
    from dashboard.providers.antom.consts import PAY_RESULT_CODES

    producible = set(PAY_TRIGGERS.values()) | set(RULE_CODES)
    assert set(PAY_RESULT_CODES) - producible == set()
    assert len(PAY_RESULT_CODES) == 37
