"""Contract: the Antom client against the sandbox simulator over real HTTP (loopback only).

Every client operation runs end to end; the simulator's signatures are checked with the
documented algorithm written independently (``reference``), and a request shaped like the
official Python SDK's (indented JSON, ISO-8601 Request-Time) is accepted.
"""

from __future__ import annotations

import json
import uuid

import requests

from dashboard.money import Money
from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.antom import PaymentStatus
from dashboard.providers.antom import RefundRequest
from dashboard.providers.antom import RefundStatus
from dashboard.providers.antom import signatures
from dashboard.providers.base import CallOutcome
from tests.sandbox import helpers


def test_every_operation_end_to_end(sandbox, antom, run_due):
    consulted = helpers.consult(antom, sandbox.url)
    assert consulted.outcome is CallOutcome.SUCCEEDED and consulted.normal_url

    code, _state = helpers.authorize(antom, sandbox.url)
    token = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, code))
    assert token.outcome is CallOutcome.SUCCEEDED and token.access_token_expiry_time

    refreshed = antom.apply_token(ApplyTokenRequest.for_refresh(helpers.WALLET, token.refresh_token))
    assert refreshed.outcome is CallOutcome.SUCCEEDED

    paid = helpers.pay(antom, refreshed.access_token, 20001)
    assert paid.outcome is CallOutcome.SUCCEEDED and paid.amount == Money(20001, "HKD")

    found = antom.inquiry_payment(payment_request_id=paid.payment_request_id)
    assert found.payment_status is PaymentStatus.SUCCESS and found.payment_id == paid.payment_id

    refunded = antom.refund(RefundRequest(f"rf-{uuid.uuid4().hex}", paid.payment_id, Money(5001, "HKD")))
    assert refunded.outcome is CallOutcome.SUCCEEDED and refunded.payment_id == paid.payment_id

    refund_found = antom.inquiry_refund(refund_request_id=refunded.refund_request_id)
    assert refund_found.refund_status is RefundStatus.SUCCESS and refund_found.amount == Money(5001, "HKD")

    second = helpers.pay(antom, refreshed.access_token, 30001)
    cancelled = antom.cancel(payment_id=second.payment_id)
    assert cancelled.outcome is CallOutcome.SUCCEEDED
    assert antom.inquiry_payment(payment_id=second.payment_id).payment_status is PaymentStatus.CANCELLED

    revoked = antom.revoke(refreshed.access_token)
    assert revoked.outcome is CallOutcome.SUCCEEDED

    run_due()
    assert sandbox.receiver.kinds() == [
        "AUTHCODE_CREATED",
        "PAYMENT_RESULT",
        "REFUND_RESULT",
        "PAYMENT_RESULT",
        "TOKEN_CANCELED",
    ]
    for notice in sandbox.receiver.received:
        assert antom.verify_notification(notice.headers, notice.body, path="/webhooks/antom")


def _sdk_style_post(sandbox, reference, body: bytes, tamper: bool = False) -> requests.Response:
    settings = sandbox.sandbox.antom
    uri = "/sandbox/antom/ams/sandbox/api/v1/payments/inquiryPayment"
    request_time = "2026-01-05T10:00:00+08:00"
    key = signatures.load_private_key(settings.private_key)
    signature = reference.sign(key, reference.content("POST", uri, settings.client_id, request_time, body))
    sent = body.replace(b"nope", b"nopf") if tamper else body
    return requests.post(
        sandbox.url + uri,
        data=sent,
        headers={
            "Content-Type": "application/json; charset=UTF-8",
            "Client-Id": settings.client_id,
            "Request-Time": request_time,
            "Signature": f"algorithm=RSA256, keyVersion=1, signature={signature}",
        },
        timeout=5,
    )


def test_sdk_style_indented_body_verifies_and_the_answer_is_signed(sandbox, reference):
    body = json.dumps({"paymentRequestId": "nope"}, indent=3).encode()

    answer = _sdk_style_post(sandbox, reference, body)

    assert json.loads(answer.content)["result"]["resultCode"] == "ORDER_NOT_EXIST"
    settings = sandbox.sandbox.antom
    content = reference.content(
        "POST",
        "/sandbox/antom/ams/sandbox/api/v1/payments/inquiryPayment",
        answer.headers["Client-Id"],
        answer.headers["Response-Time"],
        answer.content,
    )
    public = signatures.load_public_key(settings.public_key)
    assert reference.verify(public, content, answer.headers["Signature"])
    assert not reference.verify(public, content.replace(b"ORDER", b"ORDEr"), answer.headers["Signature"])


def test_a_flipped_byte_in_the_request_fails_the_signature(sandbox, reference):
    body = json.dumps({"paymentRequestId": "nope"}, indent=3).encode()

    answer = _sdk_style_post(sandbox, reference, body, tamper=True)

    assert json.loads(answer.content)["result"]["resultCode"] == "INVALID_SIGNATURE"
