"""Fault injection mapped to client outcomes, and the notification sender's retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from dashboard.providers.antom import PaymentStatus
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.base import ProviderUnverified
from dashboard.providers.http import build_session
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.core import parse_fault_header
from dashboard.sandbox.sender import ANTOM_SCHEDULE
from dashboard.sandbox.store import Delivery
from dashboard.sandbox.store import DeliveryAttempt
from dashboard.sandbox.store import transaction
from tests.sandbox import helpers


@pytest.fixture
def access_token(sandbox, antom, run_due) -> str:
    token = helpers.token(antom, sandbox.url).access_token
    run_due()
    sandbox.receiver.reset()
    return token


def faulty(sandbox, fault: str, read_timeout: float = 5.0):
    """A client whose every call carries ``X-Sandbox-Fault``."""
    session = build_session(read_timeout=read_timeout)
    session.headers["X-Sandbox-Fault"] = fault
    return sandbox.client(session=session, read_timeout=read_timeout)


def switch(sandbox, fault: str, operation: str = "*", remaining: int | None = None, latency_ms=None):
    with transaction(sandbox.sandbox.engine) as session:
        add_switch(session, fault, operation, remaining, latency_ms)


def test_timeout_is_unknown_and_the_payment_happened(sandbox, antom, access_token):
    client = faulty(sandbox, "timeout", read_timeout=0.3)

    with pytest.raises(ProviderUnavailable) as raised:
        helpers.pay(client, access_token, 10001, request_id="pay-timeout")

    assert raised.value.outcome is CallOutcome.UNKNOWN
    found = antom.inquiry_payment(payment_request_id="pay-timeout")
    assert found.payment_status is PaymentStatus.SUCCESS
    retried = helpers.pay(antom, access_token, 10001, request_id="pay-timeout")
    assert retried.outcome is CallOutcome.SUCCEEDED and retried.payment_id == found.payment_id


@pytest.mark.parametrize("fault", ["http_500", "malformed_json"])
def test_server_errors_and_malformed_answers_are_unknown(sandbox, antom, access_token, fault):
    with pytest.raises(ProviderUnavailable) as raised:
        helpers.pay(faulty(sandbox, fault), access_token, 10001, request_id=f"pay-{fault}")

    assert raised.value.outcome is CallOutcome.UNKNOWN
    assert raised.value.record is not None
    assert antom.inquiry_payment(payment_request_id=f"pay-{fault}").payment_status is PaymentStatus.SUCCESS


def test_503_is_unknown_and_nothing_happened(sandbox, antom, access_token):
    with pytest.raises(ProviderUnavailable):
        helpers.pay(faulty(sandbox, "http_503"), access_token, 10001, request_id="pay-503")

    assert antom.inquiry_payment(payment_request_id="pay-503").result_code == "ORDER_NOT_EXIST"


def test_unknown_exception_is_antoms_signed_u_answer_and_nothing_happened(sandbox, antom, access_token):
    paid = helpers.pay(antom, access_token, 10001)
    switch(sandbox, "unknown_exception", "cancel", remaining=1)

    unknown = antom.cancel(payment_id=paid.payment_id)
    cancelled = antom.cancel(payment_id=paid.payment_id)

    assert (unknown.outcome, unknown.result_code) == (CallOutcome.UNKNOWN, "UNKNOWN_EXCEPTION")
    assert cancelled.outcome is CallOutcome.SUCCEEDED


def test_bad_response_signature_is_unverified(sandbox, access_token):
    with pytest.raises(ProviderUnverified) as raised:
        helpers.pay(faulty(sandbox, "bad_signature"), access_token, 10001)

    assert raised.value.outcome is CallOutcome.UNKNOWN


def test_latency_delays_but_answers(sandbox, access_token):
    assert helpers.pay(faulty(sandbox, "latency=50"), access_token, 10001).outcome is CallOutcome.SUCCEEDED


def test_fault_header_parsing_ignores_unknown_names():
    faults = parse_fault_header("timeout, latency=250, nonsense")
    assert faults.names == {"timeout", "latency"} and faults.latency_ms == 250


def test_global_switch_for_one_operation_and_n_calls(sandbox, antom, access_token):
    switch(sandbox, "http_503", "pay", remaining=1)

    with pytest.raises(ProviderUnavailable):
        helpers.pay(antom, access_token, 10001)
    assert antom.inquiry_payment(payment_id="nope").result_code == "ORDER_NOT_EXIST"
    assert helpers.pay(antom, access_token, 10001).outcome is CallOutcome.SUCCEEDED


def test_duplicate_notification(sandbox, access_token, run_due):
    paid = helpers.pay(faulty(sandbox, "duplicate_notification"), access_token, 10001)
    run_due()

    bodies = [n.body for n in sandbox.receiver.received]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert paid.payment_id.encode() in bodies[0]


def test_notification_before_the_api_response(sandbox, access_token):
    paid = helpers.pay(faulty(sandbox, "notify_before_response"), access_token, 10001)

    # No run_due: the notification was delivered while the pay call was still open.
    [notice] = sandbox.receiver.received
    assert notice.json["paymentId"] == paid.payment_id


def test_notifications_out_of_order(sandbox, antom, access_token, run_due):
    paid = helpers.pay(antom, access_token, 10001)
    from dashboard.money import Money
    from dashboard.providers.antom import RefundRequest

    antom.refund(RefundRequest("rf-order-1", paid.payment_id, Money(101, "HKD")))
    switch(sandbox, "reorder_notifications")
    run_due()

    assert sandbox.receiver.kinds() == ["REFUND_RESULT", "PAYMENT_RESULT"]


# -- the sender -------------------------------------------------------------------------------


def deliveries(sandbox, kind: str = "PAYMENT_RESULT") -> list[Delivery]:
    with transaction(sandbox.sandbox.engine) as session:
        return session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)).all()


def attempts(sandbox, delivery_id: int) -> list[DeliveryAttempt]:
    with transaction(sandbox.sandbox.engine) as session:
        return session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id)
        ).all()


def scaled(sandbox, seconds: int) -> timedelta:
    return sandbox.sandbox.delay(seconds) + timedelta(microseconds=1)


def test_sender_retries_on_the_schedule_until_acknowledged(sandbox, antom, access_token, run_due, fake_clock):
    sandbox.receiver.fail_next(2, status=500)
    sandbox.receiver.fail_next(
        1, status=200, body=b'{"result":{"resultStatus":"F","resultCode":"PROCESS_FAIL"}}'
    )
    helpers.pay(antom, access_token, 10001)

    made = [run_due()]
    made.append(run_due())  # the retry is not due yet
    for gap in ANTOM_SCHEDULE[1:4]:
        fake_clock.advance(scaled(sandbox, gap))
        made.append(run_due())
    fake_clock.advance(hours=30)
    made.append(run_due())

    assert made == [1, 0, 1, 1, 1, 0]
    [delivery] = deliveries(sandbox)
    assert (delivery.status, delivery.attempts) == ("acknowledged", 4)
    log = attempts(sandbox, delivery.id)
    assert [(a.number, a.http_status, a.acknowledged) for a in log] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, False),
        (4, 200, True),
    ]
    assert log[0].next_try_at == log[0].at + sandbox.sandbox.delay(ANTOM_SCHEDULE[1])
    # Every attempt is signed afresh and verifies.
    for notice in sandbox.receiver.received:
        assert antom.verify_notification(notice.headers, notice.body, path="/webhooks/antom")


def test_sender_gives_up_after_eight_attempts(sandbox, antom, access_token, run_due, fake_clock):
    sandbox.receiver.fail_next(20, status=503)
    helpers.pay(antom, access_token, 10001)

    for _ in range(20):
        run_due()
        fake_clock.advance(scaled(sandbox, max(ANTOM_SCHEDULE)))

    [delivery] = deliveries(sandbox)
    assert (delivery.status, delivery.attempts) == ("gave_up", len(ANTOM_SCHEDULE)) == ("gave_up", 8)


def test_sender_never_calls_out_of_the_machine(sandbox, antom, access_token, run_due):
    helpers.pay(antom, access_token, 10001, notify_url="https://merchant.example.com/antom")

    assert run_due() == 0
    [delivery] = deliveries(sandbox)
    assert delivery.status == "refused"


def test_sandbox_page_lists_objects_and_deliveries(sandbox, antom, access_token, run_due):
    paid = helpers.pay(antom, access_token, 10001)
    run_due()

    page = requests.get(f"{sandbox.url}/sandbox/", timeout=5)

    assert page.status_code == 200
    assert paid.payment_request_id in page.text
    assert "PAYMENT_RESULT" in page.text and "acknowledged" in page.text
    assert "<script>" not in page.text


def test_fault_switch_forms_need_csrf_and_work(sandbox):
    refused = requests.post(f"{sandbox.url}/sandbox/faults", data={"fault": "timeout"}, timeout=5)
    with requests.Session() as browser:
        page = browser.get(f"{sandbox.url}/sandbox/", timeout=5)
        csrf = helpers._CSRF.search(page.text).group(1)
        added = browser.post(
            f"{sandbox.url}/sandbox/faults",
            data={"csrf_token": csrf, "fault": "http_500", "operation": "refund", "remaining": "2"},
            timeout=5,
        )
        switch_id = added.text.split('id="switch-', 1)[1].split('"', 1)[0]
        cleared = browser.post(
            f"{sandbox.url}/sandbox/faults/{switch_id}/clear", data={"csrf_token": csrf}, timeout=5
        )

    assert refused.status_code == 400
    assert added.status_code == 200 and "http_500" in added.text
    assert cleared.status_code == 200 and "No fault is on." in cleared.text
