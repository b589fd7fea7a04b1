"""declare and inquiryDeclarationRequests against the simulator over HTTP, signed both ways."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests

from dashboard.declarations.states import DeclarationEvent
from dashboard.money import Money
from dashboard.providers.antom import signatures
from dashboard.providers.antom.declarations import DeclareRequest
from dashboard.providers.base import CallOutcome
from dashboard.sandbox.antom_declarations import CUSTOMS_ANSWER_SECONDS
from tests.sandbox import helpers

MAINLAND = "ALIPAY_CN"


@pytest.fixture
def paid(sandbox, antom, run_due):
    """A successful HK$100.01 payment by an Alipay (mainland) customer."""
    token = helpers.token(antom, sandbox.url, wallet=MAINLAND).access_token
    payment = helpers.pay(antom, token, 10001, wallet=MAINLAND)
    run_due()
    assert payment.outcome is CallOutcome.SUCCEEDED
    return payment


def declaration(payment_id: str, minor: int = 10001, **fields) -> DeclareRequest:
    values = {
        "declaration_request_id": f"dc{uuid.uuid4().hex[:30]}",
        "payment_id": payment_id,
        "amount": Money(minor, "HKD"),
        "customs_code": "ZONGSHU",
        "merchant_customs_code": "4403960ABC",
        "merchant_customs_name": "Harbour Goods Ltd",
    }
    return DeclareRequest(**{**values, **fields})


def test_declare_is_accepted_and_customs_answer_later(sandbox, antom, paid, fake_clock):
    request = declaration(paid.payment_id, 10000)
    declared = antom.declare(request)

    assert (declared.outcome, declared.result_code) == (CallOutcome.SUCCEEDED, "SUCCESS")
    assert declared.customs_payment_id and declared.customs_order_id
    assert declared.news.event is DeclarationEvent.SUBMITTED
    [waiting] = antom.inquiry_declarations([request.declaration_request_id]).records
    assert waiting.status == "WAITING_FOR_PROCESSING" and waiting.customs_returned_at is None
    assert waiting.news.event is DeclarationEvent.SUBMITTED

    fake_clock.advance(seconds=CUSTOMS_ANSWER_SECONDS)  # compressed: long past due
    [answered] = antom.inquiry_declarations([request.declaration_request_id]).records
    assert (answered.status, answered.customs_result_code) == ("SUCCESS", "2")
    assert answered.customs_returned_at is not None
    assert answered.news.event is DeclarationEvent.DECLARED


def test_the_inquiry_echoes_exactly_what_was_declared(sandbox, antom, paid):
    request = declaration(paid.payment_id, 9000, customs_code="shanghai_cbt")
    antom.declare(request)

    answer = antom.inquiry_declarations([request.declaration_request_id])
    record = answer.raw["declarationRecords"][0]
    assert record["customs"] == {"customsCode": "shanghai_cbt", "region": "CN"}
    assert record["merchantCustomsInfo"] == {
        "merchantCustomsCode": "4403960ABC",
        "merchantCustomsName": "Harbour Goods Ltd",
    }
    assert record["declarationAmount"] == {"currency": "HKD", "value": "9000"}
    assert record["splitOrder"] == "false"
    assert answer.record_of(request.declaration_request_id).amount == Money(9000, "HKD")


def test_customs_reject_a_declared_amount_ending_in_99(sandbox, antom, paid, fake_clock):
    request = declaration(paid.payment_id, 9999)
    assert antom.declare(request).outcome is CallOutcome.SUCCEEDED

    fake_clock.advance(seconds=CUSTOMS_ANSWER_SECONDS)
    [record] = antom.inquiry_declarations([request.declaration_request_id]).records
    assert (record.status, record.customs_result_code) == ("FAIL", "100")
    assert record.news.event is DeclarationEvent.REJECTED and record.news.message


def test_the_same_request_id_and_body_answers_the_same_and_declares_once(sandbox, antom, paid):
    request = declaration(paid.payment_id)
    first, again = antom.declare(request), antom.declare(request)

    assert again.outcome is CallOutcome.SUCCEEDED
    assert again.customs_payment_id == first.customs_payment_id
    assert len(antom.inquiry_declarations([request.declaration_request_id]).records) == 1


def test_the_same_request_id_with_another_body_is_refused(sandbox, antom, paid):
    request = declaration(paid.payment_id, 5000)
    antom.declare(request)
    changed = declaration(paid.payment_id, 6000, declaration_request_id=request.declaration_request_id)

    refused = antom.declare(changed)
    assert (refused.outcome, refused.result_code) == (CallOutcome.FAILED, "REPEAT_REQ_INCONSISTENT")
    assert refused.news.event is DeclarationEvent.REFUSED and refused.news.message
    [record] = antom.inquiry_declarations([request.declaration_request_id]).records
    assert record.amount == Money(5000, "HKD")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"customs_code": "HONGKONG"}, "CUSTOMS_NOT_SUPPORT"),
        ({"region": "HK"}, "CUSTOMS_NOT_SUPPORT"),
        ({"amount": Money(10002, "HKD")}, "DECLARE_AMOUNT_EXCEED"),
        ({"amount": Money(10001, "CNY")}, "PARAM_ILLEGAL"),
        ({"merchant_customs_code": "X" * 21}, "PARAM_ILLEGAL"),
    ],
)
def test_declare_refuses_what_antom_refuses(sandbox, antom, paid, change, code):
    refused = antom.declare(declaration(paid.payment_id, **change))

    assert (refused.outcome, refused.result_code) == (CallOutcome.FAILED, code)
    assert refused.result_message and refused.customs_payment_id is None


def test_an_unknown_payment_cannot_be_declared(sandbox, antom):
    refused = antom.declare(declaration("20261130194010800100188800000000000"))
    assert (refused.outcome, refused.result_code) == (CallOutcome.FAILED, "ORDER_NOT_EXIST")


def test_a_payment_that_did_not_succeed_cannot_be_declared(sandbox, antom, run_due):
    token = helpers.token(antom, sandbox.url, wallet=MAINLAND).access_token
    failed = helpers.pay(antom, token, 10011, wallet=MAINLAND)  # USER_BALANCE_NOT_ENOUGH
    run_due()

    refused = antom.declare(declaration(failed.payment_id, 100))
    assert (refused.outcome, refused.result_code) == (CallOutcome.FAILED, "ORDER_STATUS_INVALID")


def test_a_payment_by_another_wallet_cannot_be_declared(sandbox, antom, run_due):
    token = helpers.token(antom, sandbox.url).access_token  # ALIPAY_HK
    payment = helpers.pay(antom, token, 10001)
    run_due()

    refused = antom.declare(declaration(payment.payment_id))
    assert (refused.outcome, refused.result_code) == (CallOutcome.FAILED, "PAYMENT_METHOD_NOT_SUPPORTED")


def test_the_inquiry_lists_the_ids_antom_does_not_know_apart(sandbox, antom, paid):
    request = declaration(paid.payment_id)
    antom.declare(request)

    answer = antom.inquiry_declarations([request.declaration_request_id, "dc-never-sent"])
    assert answer.outcome is CallOutcome.SUCCEEDED
    assert [r.declaration_request_id for r in answer.records] == [request.declaration_request_id]
    assert answer.not_found == ("dc-never-sent",)


def test_the_client_refuses_ids_antom_would_refuse_before_sending(antom):
    with pytest.raises(ValueError, match="1 to 32"):
        declaration("p", declaration_request_id="d" * 33)
    with pytest.raises(ValueError, match="1 to 10"):
        antom.inquiry_declarations([f"dc{n}" for n in range(11)])


@pytest.mark.parametrize(
    ("api", "body"),
    [
        ("customs/declare", {"declarationRequestId": "d" * 33}),
        ("customs/inquiryDeclarationRequests", {"declarationRequestIds": [f"dc{n}" for n in range(11)]}),
        ("customs/inquiryDeclarationRequests", {"declarationRequestIds": []}),
    ],
)
def test_the_simulator_refuses_malformed_requests(sandbox, api, body):
    answer = helpers.raw_call(sandbox, api, body)
    assert answer["result"]["resultCode"] == "PARAM_ILLEGAL"
    assert answer["result"]["resultStatus"] == "F"


def test_a_declaration_signed_over_another_body_is_refused(sandbox, paid):
    settings = sandbox.sandbox.antom
    uri = "/sandbox/antom/ams/sandbox/api/v1/customs/declare"
    key = signatures.load_private_key(settings.private_key)
    signed = json.dumps({"paymentId": paid.payment_id}).encode()
    sent = json.dumps({"paymentId": paid.payment_id, "declarationRequestId": "dc1"}).encode()
    value = signatures.sign(key, "POST", uri, settings.client_id, "1767578400123", signed)
    answer = requests.post(
        sandbox.url + uri,
        data=sent,
        headers={
            "Content-Type": "application/json; charset=UTF-8",
            "Client-Id": settings.client_id,
            "Request-Time": "1767578400123",
            "Signature": signatures.build_signature_header(value),
        },
        timeout=5,
    )
    assert answer.json()["result"]["resultCode"] == "INVALID_SIGNATURE"


def test_customs_answer_no_sooner_than_their_compressed_delay(sandbox, antom, paid, fake_clock):
    request = declaration(paid.payment_id)
    antom.declare(request)

    fake_clock.advance(timedelta(milliseconds=1))
    [record] = antom.inquiry_declarations([request.declaration_request_id]).records
    assert record.status == "WAITING_FOR_PROCESSING"
