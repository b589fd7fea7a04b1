"""declare and inquiryDeclarationRequests over mocked HTTP: the signed request, the documented body,
and how each answer reads (accepted, refused, unknown, records, malformed)."""

from __future__ import annotations

import json

import pytest

from dashboard.declarations.states import DeclarationEvent
from dashboard.money import Money
from dashboard.providers.antom.declarations import DeclareRequest
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderUnavailable
from tests.providers.antom.test_antom_client import result
from tests.providers.antom.test_antom_client import sent

DECLARE = "/ams/api/v1/customs/declare"
INQUIRY = "/ams/api/v1/customs/inquiryDeclarationRequests"


def declare_request(**overrides) -> DeclareRequest:
    fields = {
        "declaration_request_id": "dc0123456789abcdef0123456789abcd",
        "payment_id": "202611301940108001001888C0200000001",
        "amount": Money(40001, "HKD"),
        "customs_code": "ZONGSHU",
        "merchant_customs_code": "4403960ABC",
        "merchant_customs_name": "Harbour Goods Ltd",
    }
    return DeclareRequest(**(fields | overrides))


def record(status: str, **extra) -> dict:
    return {
        "declarationRequestId": "dc0123456789abcdef0123456789abcd",
        "customsPaymentId": "2026113011001004680073950000",
        "customsOrderId": "PAY-0001",
        "customs": {"customsCode": "ZONGSHU", "region": "CN"},
        "merchantCustomsInfo": {
            "merchantCustomsCode": "4403960ABC",
            "merchantCustomsName": "Harbour Goods Ltd",
        },
        "declarationAmount": {"currency": "HKD", "value": "40001"},
        "splitOrder": "false",
        "declarationRequestStatus": status,
        "lastModifiedTime": "2026-11-30T12:08:55+08:00",
        **extra,
    }


def test_declare_is_signed_and_sends_the_documented_body(
    wire, antom_client, mocked, antom_reply, merchant_key, reference
):
    antom_reply(DECLARE, result("SUCCESS", "S", customsPaymentId="C1", customsOrderId="PAY-0001"))

    antom_client.declare(declare_request())

    request = sent(mocked)
    assert request.url == wire.base_url + DECLARE
    content = reference.content(
        "POST", DECLARE, wire.client_id, request.headers["Request-Time"], request.body
    )
    assert reference.verify(merchant_key.public_key(), content, request.headers["Signature"])
    assert json.loads(request.body) == {
        "declarationRequestId": "dc0123456789abcdef0123456789abcd",
        "paymentId": "202611301940108001001888C0200000001",
        "declarationAmount": {"currency": "HKD", "value": "40001"},
        "customs": {"customsCode": "ZONGSHU", "region": "CN"},
        "merchantCustomsInfo": {
            "merchantCustomsCode": "4403960ABC",
            "merchantCustomsName": "Harbour Goods Ltd",
        },
        "splitOrder": "false",
    }


def test_an_accepted_declaration_waits_for_customs(antom_client, antom_reply):
    antom_reply(
        DECLARE,
        result(
            "SUCCESS",
            "S",
            customsPaymentId="C1",
            customsOrderId="PAY-0001",
            identityCheckResult="CHECK_PASSED",
        ),
    )

    declared = antom_client.declare(declare_request())

    assert (declared.outcome, declared.identity_check) == (CallOutcome.SUCCEEDED, "CHECK_PASSED")
    news = declared.news
    assert (news.event, news.code, news.provider_declaration_id, news.customs_order_id) == (
        DeclarationEvent.SUBMITTED,
        None,
        "C1",
        "PAY-0001",
    )


def test_a_refusal_keeps_antoms_code_and_message(antom_client, antom_reply):
    antom_reply(DECLARE, result("CUSTOMS_NOT_SUPPORT", "F"))

    refused = antom_client.declare(declare_request())

    assert (refused.news.event, refused.news.code, refused.news.message) == (
        DeclarationEvent.REFUSED,
        "CUSTOMS_NOT_SUPPORT",
        "customs_not_support",
    )


def test_an_unknown_answer_says_nothing_about_the_declaration(antom_client, antom_reply):
    antom_reply(DECLARE, result("UNKNOWN_EXCEPTION", "U"))

    answer = antom_client.declare(declare_request())
    assert answer.outcome is CallOutcome.UNKNOWN and answer.news is None


def test_the_inquiry_asks_by_our_ids_and_reads_each_record(antom_client, mocked, antom_reply):
    answered = record(
        "SUCCESS",
        customsDeclarationResultCode="2",
        customsDeclarationResultDesc="declared",
        customsDeclarationReturnTime="2026-11-30T12:09:00Z",
    )
    antom_reply(
        INQUIRY, result("SUCCESS", "S", declarationRecords=[answered], declarationRequestsNotFound=["dc2"])
    )

    answer = antom_client.inquiry_declarations(["dc0123456789abcdef0123456789abcd", "dc2"])

    assert json.loads(sent(mocked).body) == {
        "declarationRequestIds": ["dc0123456789abcdef0123456789abcd", "dc2"]
    }
    assert answer.not_found == ("dc2",)
    found = answer.record_of("dc0123456789abcdef0123456789abcd")
    assert (found.amount, found.customs_code) == (Money(40001, "HKD"), "ZONGSHU")
    assert (found.news.event, found.news.code) == (DeclarationEvent.DECLARED, "2")
    assert found.news.customs_answered_at.isoformat() == "2026-11-30T12:09:00+00:00"
    assert answer.record_of("dc2") is None


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("WAITING_FOR_PROCESSING", DeclarationEvent.SUBMITTED),
        ("PROCESSING", DeclarationEvent.SUBMITTED),
        ("FAIL", DeclarationEvent.REJECTED),
        ("SOMETHING_NEW", None),
    ],
)
def test_each_record_status_reads_as_our_event(antom_client, antom_reply, status, event):
    antom_reply(INQUIRY, result("SUCCESS", "S", declarationRecords=[record(status)]))

    [found] = antom_client.inquiry_declarations(["dc0123456789abcdef0123456789abcd"]).records
    assert (found.news.event if found.news else None) == event


@pytest.mark.parametrize(
    "extra",
    [
        {"declarationRecords": {"not": "a list"}},
        {"declarationRecords": [{"declarationRequestStatus": "SUCCESS"}]},
        {"declarationRecords": [record("SUCCESS", declarationAmount={"currency": "HKD", "value": "1.5"})]},
        {"declarationRequestsNotFound": [7]},
    ],
)
def test_a_malformed_inquiry_answer_is_unknown(antom_client, antom_reply, extra):
    antom_reply(INQUIRY, result("SUCCESS", "S", **extra))

    with pytest.raises(ProviderUnavailable):
        antom_client.inquiry_declarations(["dc0123456789abcdef0123456789abcd"])
