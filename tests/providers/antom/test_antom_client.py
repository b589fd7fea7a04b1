"""AntomClient over mocked HTTP: signing, verification, outcome mapping and call records."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime

import pytest
import requests
import responses

from dashboard.money import Money
from dashboard.providers.antom import AntomClient
from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.antom import ConsultRequest
from dashboard.providers.antom import Env
from dashboard.providers.antom import PaymentStatus
from dashboard.providers.antom import PayRequest
from dashboard.providers.antom import RefundRequest
from dashboard.providers.antom import RefundStatus
from dashboard.providers.antom.consts import PAY_RESULT_CODES
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.base import ProviderUnverified
from dashboard.providers.base import new_request_id

PAY = "/ams/api/v1/payments/pay"
ACCESS_TOKEN = "28100103_20260105_ACCESSTOKEN0123456789"

# The pay (Auto Debit) "Result/Error codes" table exactly as Antom publishes it (code, status).
SEED_PAY_TABLE = [
    ("SUCCESS", "S"),
    ("ACCESS_DENIED", "F"),
    ("CURRENCY_NOT_SUPPORT", "F"),
    ("EXPIRED_CODE", "F"),
    ("INVALID_ACCESS_TOKEN", "F"),
    ("INVALID_CONTRACT", "F"),
    ("INVALID_MERCHANT_STATUS", "F"),
    ("INVALID_PAYMENT_CODE", "F"),
    ("INVALID_PAYMENT_METHOD_META_DATA", "F"),
    ("KEY_NOT_FOUND", "F"),
    ("MERCHANT_KYB_NOT_QUALIFIED", "F"),
    ("MERCHANT_NOT_REGISTERED", "F"),
    ("NO_INTERFACE_DEF", "F"),
    ("NO_PAY_OPTIONS", "F"),
    ("ORDER_IS_CANCELED", "F"),
    ("ORDER_IS_CLOSED", "F"),
    ("ORDER_NOT_EXIST", "F"),
    ("PARAM_ILLEGAL", "F"),
    ("PAYMENT_AMOUNT_EXCEED_LIMIT", "F"),
    ("PAYMENT_COUNT_EXCEED_LIMIT", "F"),
    ("PAYMENT_NOT_QUALIFIED", "F"),
    ("PROCESS_FAIL", "F"),
    ("REPEAT_REQ_INCONSISTENT", "F"),
    ("RISK_REJECT", "F"),
    ("SETTLE_CONTRACT_NOT_MATCH", "F"),
    ("SYSTEM_ERROR", "F"),
    ("USER_AMOUNT_EXCEED_LIMIT", "F"),
    ("USER_BALANCE_NOT_ENOUGH", "F"),
    ("USER_KYC_NOT_QUALIFIED", "F"),
    ("USER_NOT_EXIST", "F"),
    ("USER_PAYMENT_VERIFICATION_FAILED", "F"),
    ("USER_STATUS_ABNORMAL", "F"),
    ("PAYMENT_IN_PROCESS", "U"),
    ("REQUEST_TRAFFIC_EXCEED_LIMIT", "U"),
    ("UNKNOWN_EXCEPTION", "U"),
    ("VERIFY_TIMES_EXCEED_LIMIT", "F"),
    ("VERIFY_UNMATCHED", "F"),
]


def pay_request(**overrides) -> PayRequest:
    fields = {
        "payment_request_id": "PAY-20260105-0001",
        "amount": Money(12850, "HKD"),
        "payment_method_type": "ALIPAY_HK",
        "access_token": ACCESS_TOKEN,
        "reference_order_id": "ORD-0001",
        "order_description": "Monthly plan January 2026",
        "settlement_currency": "HKD",
    }
    return PayRequest(**(fields | overrides))


def result(code: str, status: str, **extra) -> dict:
    return {"result": {"resultCode": code, "resultStatus": status, "resultMessage": code.lower()}, **extra}


def sent(mocked: responses.RequestsMock, index: int = 0) -> requests.PreparedRequest:
    return mocked.calls[index].request


# -- the request on the wire ------------------------------------------------------------------


def test_pay_sends_signed_exact_bytes_with_documented_headers(
    wire, antom_client, mocked, antom_reply, payload, merchant_key, reference
):
    antom_reply(PAY, payload("pay_success"))

    antom_client.pay(pay_request())

    request = sent(mocked)
    assert request.url == wire.base_url + PAY
    assert request.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert request.headers["Client-Id"] == wire.client_id
    assert request.headers["Request-Time"] == wire.now_millis
    content = reference.content("POST", PAY, wire.client_id, request.headers["Request-Time"], request.body)
    assert reference.verify(merchant_key.public_key(), content, request.headers["Signature"])
    assert request.headers["Signature"].startswith("algorithm=RSA256,keyVersion=1,signature=")


def test_pay_body_is_the_documented_agreement_payment(antom_client, mocked, antom_reply, payload):
    antom_reply(PAY, payload("pay_success"))

    antom_client.pay(
        pay_request(
            env=Env(terminal_type="APP", os_type="IOS", client_ip="203.0.113.7"),
            reference_merchant_id="SM_0001",
            expiry_time=datetime(2026, 1, 5, 10, 1, 0, tzinfo=UTC),
        )
    )

    assert json.loads(sent(mocked).body) == {
        "productCode": "AGREEMENT_PAYMENT",
        "paymentRequestId": "PAY-20260105-0001",
        "order": {
            "referenceOrderId": "ORD-0001",
            "orderDescription": "Monthly plan January 2026",
            "orderAmount": {"currency": "HKD", "value": "12850"},
            "merchant": {"referenceMerchantId": "SM_0001"},
        },
        "paymentAmount": {"currency": "HKD", "value": "12850"},
        "paymentMethod": {"paymentMethodType": "ALIPAY_HK", "paymentMethodId": ACCESS_TOKEN},
        "paymentExpiryTime": "2026-01-05T10:01:00+00:00",
        "settlementStrategy": {"settlementCurrency": "HKD"},
        "env": {"terminalType": "APP", "osType": "IOS", "clientIp": "203.0.113.7"},
        "paymentNotifyUrl": "https://merchant.example.hk/antom/notify",
    }


def test_pay_settles_in_the_contracts_currency_not_the_payments(
    wire, merchant_key, antom_key, antom_client, mocked, antom_reply, payload
):
    antom_reply(PAY, payload("pay_success"))
    antom_reply(PAY, payload("pay_success"))
    usd = {"amount": Money(2000, "USD"), "settlement_currency": None}
    contracted_in_usd = AntomClient(
        wire.base_url, wire.client_id, merchant_key, antom_key.public_key(), settlement_currency="USD"
    )

    antom_client.pay(pay_request(**usd))
    contracted_in_usd.pay(pay_request(amount=Money(12850, "HKD"), settlement_currency=None))

    bodies = [json.loads(call.request.body) for call in mocked.calls]
    assert bodies[0]["paymentAmount"] == {"currency": "USD", "value": "2000"}
    assert [body["settlementStrategy"] for body in bodies] == [
        {"settlementCurrency": "HKD"},
        {"settlementCurrency": "USD"},
    ]


def test_non_ascii_text_is_signed_as_the_utf8_bytes_sent(
    wire, antom_client, mocked, antom_reply, payload, merchant_key, reference
):
    antom_reply(PAY, payload("pay_success"))

    antom_client.pay(pay_request(order_description="月費計劃"))

    request = sent(mocked)
    assert "月費計劃".encode() in request.body
    content = reference.content("POST", PAY, wire.client_id, wire.now_millis, request.body)
    assert reference.verify(merchant_key.public_key(), content, request.headers["Signature"])


def test_request_time_follows_the_injected_clock(wire, merchant_key, antom_key, mocked, antom_reply, payload):
    client = AntomClient(
        wire.base_url,
        wire.client_id,
        merchant_key,
        antom_key.public_key(),
        clock=lambda: datetime(2026, 1, 5, 10, 0, 0, 5000, tzinfo=UTC),
    )
    antom_reply(PAY, payload("pay_success"))

    result = client.pay(pay_request())

    assert sent(mocked).headers["Request-Time"] == "1767607200005"
    assert result.record.started_at == datetime(2026, 1, 5, 10, 0, 0, 5000, tzinfo=UTC)


def test_sandbox_client_ids_sign_and_call_the_sandbox_path(
    wire, merchant_key, antom_key, mocked, antom_reply, payload, reference
):
    sandbox_id = "SANDBOX_5YBZ1234567890AB"
    client = AntomClient(
        wire.base_url, sandbox_id, merchant_key, antom_key.public_key(), clock=lambda: wire.now
    )
    sandbox_path = "/ams/sandbox/api/v1/payments/pay"
    antom_reply(sandbox_path, payload("pay_success"), client_id=sandbox_id)

    result = client.pay(pay_request())

    request = sent(mocked)
    assert request.url == wire.base_url + sandbox_path
    signed_sandbox = reference.content("POST", sandbox_path, sandbox_id, wire.now_millis, request.body)
    signed_live = reference.content("POST", PAY, sandbox_id, wire.now_millis, request.body)
    assert reference.verify(merchant_key.public_key(), signed_sandbox, request.headers["Signature"])
    assert not reference.verify(merchant_key.public_key(), signed_live, request.headers["Signature"])
    assert result.outcome is CallOutcome.SUCCEEDED
    assert result.record.path == sandbox_path


def test_a_base_url_prefix_is_part_of_the_signed_uri(
    wire, merchant_key, antom_key, mocked, antom_reply, payload, reference
):
    client = AntomClient(
        wire.base_url + "/sim/", wire.client_id, merchant_key, antom_key.public_key(), clock=lambda: wire.now
    )
    antom_reply("/sim" + PAY, payload("pay_success"))

    client.pay(pay_request())

    request = sent(mocked)
    content = reference.content("POST", "/sim" + PAY, wire.client_id, wire.now_millis, request.body)
    assert reference.verify(merchant_key.public_key(), content, request.headers["Signature"])


def test_a_retry_reuses_the_callers_request_id(antom_client, mocked, antom_reply, payload):
    antom_reply(PAY, result("UNKNOWN_EXCEPTION", "U"))
    antom_reply(PAY, payload("pay_success"))

    first = antom_client.pay(pay_request())
    second = antom_client.pay(pay_request())

    assert first.outcome is CallOutcome.UNKNOWN
    assert second.outcome is CallOutcome.SUCCEEDED
    ids = [json.loads(call.request.body)["paymentRequestId"] for call in mocked.calls]
    assert ids == ["PAY-20260105-0001", "PAY-20260105-0001"]
    assert first.record.correlation_id == second.record.correlation_id == "PAY-20260105-0001"


def test_new_request_id_is_fresh_and_bounded():
    first, second = new_request_id("PAY-"), new_request_id("PAY-")

    assert first != second
    assert first.startswith("PAY-") and len(first) <= 64
    with pytest.raises(ValueError):
        new_request_id("X" * 40)


@pytest.mark.parametrize(
    "base_url", ["ftp://open-sea-global.alipay.com", "open-sea-global.alipay.com", "https://h/?q=1"]
)
def test_unusable_base_urls_are_config_errors(wire, merchant_key, antom_key, base_url):
    with pytest.raises(ProviderConfigError):
        AntomClient(base_url, wire.client_id, merchant_key, antom_key.public_key())


# -- outcomes ---------------------------------------------------------------------------------


def test_our_pay_table_is_the_published_one():
    assert {code: str(entry.status) for code, entry in PAY_RESULT_CODES.items()} == dict(SEED_PAY_TABLE)


@pytest.mark.parametrize(("code", "status"), SEED_PAY_TABLE)
def test_every_published_pay_code_maps_to_its_outcome(antom_client, antom_reply, code, status):
    antom_reply(PAY, result(code, status))

    answer = antom_client.pay(pay_request())

    assert answer.outcome is CallOutcome(status)
    assert answer.result_code == code
    assert answer.result_message == code.lower()
    assert answer.record.operation == "pay"


def test_a_failure_documented_as_unknown_stays_unknown(antom_client, antom_reply):
    antom_reply(PAY, result("PAYMENT_IN_PROCESS", "F"))

    assert antom_client.pay(pay_request()).outcome is CallOutcome.UNKNOWN


def test_an_undocumented_failure_code_is_still_a_failure(antom_client, antom_reply):
    antom_reply(PAY, result("SOMETHING_NEW", "F"))

    answer = antom_client.pay(pay_request())
    assert answer.outcome is CallOutcome.FAILED
    assert answer.result_code == "SOMETHING_NEW"


def test_timeout_is_unavailable_not_failure(wire, antom_client, mocked):
    mocked.add(responses.POST, wire.base_url + PAY, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(ProviderUnavailable) as caught:
        antom_client.pay(pay_request())

    error = caught.value
    assert error.outcome is CallOutcome.UNKNOWN
    assert error.record.status is None
    assert "ReadTimeout" in error.record.error
    assert error.record.correlation_id == "PAY-20260105-0001"
    assert error.record.duration_ms >= 0


def test_connection_error_is_unavailable(wire, antom_client, mocked):
    mocked.add(responses.POST, wire.base_url + PAY, body=requests.exceptions.ConnectionError("refused"))

    with pytest.raises(ProviderUnavailable):
        antom_client.pay(pay_request())


@pytest.mark.parametrize("status", [500, 502, 503, 504, 400, 404])
def test_non_200_is_unknown(antom_client, antom_reply, status):
    antom_reply(PAY, b"<html>Bad Gateway</html>", status=status)

    with pytest.raises(ProviderUnavailable) as caught:
        antom_client.pay(pay_request())

    assert caught.value.outcome is CallOutcome.UNKNOWN
    assert caught.value.record.status == status


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"paymentId": "1"}',
        b'{"result": {"resultCode": "SUCCESS", "resultStatus": "X"}}',
        b'{"result": "SUCCESS"}',
    ],
)
def test_malformed_answers_are_unknown(antom_client, antom_reply, body):
    antom_reply(PAY, body)

    with pytest.raises(ProviderUnavailable) as caught:
        antom_client.pay(pay_request())

    assert caught.value.record.status == 200


def test_a_success_with_an_unreadable_field_is_unknown(antom_client, antom_reply):
    antom_reply(PAY, result("SUCCESS", "S", paymentAmount={"currency": "HKD", "value": "12.50"}))

    with pytest.raises(ProviderUnavailable) as caught:
        antom_client.pay(pay_request())

    assert caught.value.code == "SUCCESS"


def test_missing_signature_is_unverified(wire, antom_client, antom_reply):
    antom_reply(PAY, result("SUCCESS", "S"), headers={"response-time": wire.response_time})

    with pytest.raises(ProviderUnverified) as caught:
        antom_client.pay(pay_request())

    assert caught.value.outcome is CallOutcome.UNKNOWN
    assert caught.value.record.status == 200


def test_missing_response_time_is_unverified(antom_client, antom_reply):
    antom_reply(
        PAY, result("SUCCESS", "S"), headers={"signature": "algorithm=RSA256,keyVersion=1,signature=QUJD"}
    )

    with pytest.raises(ProviderUnverified):
        antom_client.pay(pay_request())


def test_a_signature_by_another_key_is_unverified(wire, antom_client, antom_reply, merchant_key, reference):
    body = json.dumps(result("SUCCESS", "S")).encode()
    forged = reference.sign(
        merchant_key, reference.content("POST", PAY, wire.client_id, wire.response_time, body)
    )
    antom_reply(PAY, body, signature=forged)

    with pytest.raises(ProviderUnverified):
        antom_client.pay(pay_request())


def test_a_signature_over_another_body_is_unverified(wire, antom_client, antom_reply, antom_key, reference):
    signed = json.dumps(result("USER_BALANCE_NOT_ENOUGH", "F")).encode()
    value = reference.sign(
        antom_key, reference.content("POST", PAY, wire.client_id, wire.response_time, signed)
    )
    antom_reply(PAY, json.dumps(result("SUCCESS", "S")).encode(), signature=value)

    with pytest.raises(ProviderUnverified):
        antom_client.pay(pay_request())


def test_an_answer_for_another_client_id_is_unverified(antom_client, antom_reply):
    antom_reply(PAY, result("SUCCESS", "S"), client_id="9999999999999999")

    with pytest.raises(ProviderUnverified):
        antom_client.pay(pay_request())


# -- each operation ---------------------------------------------------------------------------


def test_consult_returns_the_authorization_urls(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/consult", payload("consult_success"))

    answer = antom_client.consult(
        ConsultRequest(
            customer_belongs_to="ALIPAY_HK",
            auth_redirect_url="https://merchant.example.hk/antom/authorized",
            auth_state="st_20260105_000123",
            env=Env(terminal_type="WAP", os_type="ANDROID", os_version="14"),
        )
    )

    assert answer.outcome is CallOutcome.SUCCEEDED
    assert answer.auth_state == "st_20260105_000123"
    assert answer.normal_url == "https://open-sea.alipayplus.com/authorize?token=abc123"
    assert answer.scheme_url.startswith("alipayhk://")
    assert answer.auth_codes[0].value_type == "QRCODE"
    assert json.loads(sent(mocked).body) == {
        "customerBelongsTo": "ALIPAY_HK",
        "authRedirectUrl": "https://merchant.example.hk/antom/authorized",
        "scopes": ["AGREEMENT_PAY"],
        "authState": "st_20260105_000123",
        "env": {"terminalType": "WAP", "osType": "ANDROID", "osVersion": "14"},
        "terminalType": "WAP",
        "osType": "ANDROID",
        "osVersion": "14",
        "authNotifyUrl": "https://merchant.example.hk/antom/notify",
    }
    assert answer.record.correlation_id == "st_20260105_000123"


def test_apply_token_with_an_auth_code(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/applyToken", payload("apply_token_success"))

    answer = antom_client.apply_token(
        ApplyTokenRequest.for_auth_code("ALIPAY_HK", "663A8FA9D83648EE8AA11FF682989DC7")
    )

    assert json.loads(sent(mocked).body) == {
        "grantType": "AUTHORIZATION_CODE",
        "customerBelongsTo": "ALIPAY_HK",
        "authCode": "663A8FA9D83648EE8AA11FF682989DC7",
    }
    assert answer.access_token == ACCESS_TOKEN
    assert answer.access_token_expiry_time == datetime.fromisoformat("2026-02-05T10:00:00+08:00")
    assert answer.refresh_token == "28100104_20260105_REFRESHTOKEN0123456789"
    assert answer.refresh_token_expiry_time.utcoffset().total_seconds() == 8 * 3600
    assert answer.user_login_id == "852****5678"
    assert answer.psp_customer_info.psp_customer_id == "2088123412341234"


def test_apply_token_with_a_refresh_token(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/applyToken", payload("apply_token_success"))

    antom_client.apply_token(
        ApplyTokenRequest.for_refresh("ALIPAY_HK", "28100104_20260105_REFRESHTOKEN0123456789")
    )

    assert json.loads(sent(mocked).body) == {
        "grantType": "REFRESH_TOKEN",
        "customerBelongsTo": "ALIPAY_HK",
        "refreshToken": "28100104_20260105_REFRESHTOKEN0123456789",
    }


def test_revoke(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/revoke", payload("revoke_success"))

    answer = antom_client.revoke(ACCESS_TOKEN)

    assert answer.outcome is CallOutcome.SUCCEEDED
    assert json.loads(sent(mocked).body) == {"accessToken": ACCESS_TOKEN}


def test_revoke_of_a_dead_token_is_a_failure_to_store(antom_client, antom_reply):
    antom_reply("/ams/api/v1/authorizations/revoke", result("INVALID_ACCESS_TOKEN", "F"))

    answer = antom_client.revoke(ACCESS_TOKEN)

    assert (answer.outcome, answer.result_code) == (CallOutcome.FAILED, "INVALID_ACCESS_TOKEN")


def test_pay_success_is_typed(antom_client, antom_reply, payload):
    antom_reply(PAY, payload("pay_success"))

    answer = antom_client.pay(pay_request())

    assert answer.outcome is CallOutcome.SUCCEEDED
    assert answer.payment_id == "202601051940108001001888C0201234567"
    assert answer.payment_request_id == "PAY-20260105-0001"
    assert answer.amount == Money(12850, "HKD")
    assert answer.payment_time == datetime(2026, 1, 5, 2, 0, 1, tzinfo=UTC)
    assert answer.psp_customer_info.psp_name == "ALIPAY_HK"


def test_inquiry_payment_reads_status_and_transactions(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/payments/inquiryPayment", payload("inquiry_payment_success"))

    answer = antom_client.inquiry_payment(payment_request_id="PAY-20260105-0001")

    assert json.loads(sent(mocked).body) == {"paymentRequestId": "PAY-20260105-0001"}
    assert answer.outcome is CallOutcome.SUCCEEDED
    assert answer.payment_status is PaymentStatus.SUCCESS
    assert answer.amount == Money(12850, "HKD")
    (refund,) = answer.transactions
    assert (refund.transaction_type, refund.status, refund.request_id) == (
        "REFUND",
        "SUCCESS",
        "RF-20260106-0001",
    )
    assert refund.amount == Money(2000, "HKD")


@pytest.mark.parametrize("status", [status.value for status in PaymentStatus])
def test_inquiry_payment_statuses(antom_client, antom_reply, status):
    antom_reply("/ams/api/v1/payments/inquiryPayment", result("SUCCESS", "S", paymentStatus=status))

    assert antom_client.inquiry_payment(payment_id="2026").payment_status is PaymentStatus(status)


def test_an_unknown_payment_status_is_unknown(antom_client, antom_reply):
    antom_reply("/ams/api/v1/payments/inquiryPayment", result("SUCCESS", "S", paymentStatus="REVERSED"))

    with pytest.raises(ProviderUnavailable):
        antom_client.inquiry_payment(payment_id="2026")


def test_inquiry_needs_an_id(antom_client):
    with pytest.raises(ValueError):
        antom_client.inquiry_payment()


def test_cancel(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/payments/cancel", payload("cancel_success"))

    answer = antom_client.cancel(payment_request_id="PAY-20260105-0001")

    assert json.loads(sent(mocked).body) == {"paymentRequestId": "PAY-20260105-0001"}
    assert answer.outcome is CallOutcome.SUCCEEDED
    assert answer.cancel_time == datetime.fromisoformat("2026-01-05T10:05:00+08:00")


def test_refund(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/payments/refund", payload("refund_success"))

    answer = antom_client.refund(
        RefundRequest(
            refund_request_id="RF-20260106-0001",
            payment_id="202601051940108001001888C0201234567",
            amount=Money(2000, "HKD"),
            reason="goodwill",
        )
    )

    assert json.loads(sent(mocked).body) == {
        "refundRequestId": "RF-20260106-0001",
        "paymentId": "202601051940108001001888C0201234567",
        "refundAmount": {"currency": "HKD", "value": "2000"},
        "refundReason": "goodwill",
        "refundNotifyUrl": "https://merchant.example.hk/antom/notify",
    }
    assert answer.refund_id == "202601061940108001001888C0209876543"
    assert answer.amount == Money(2000, "HKD")
    assert answer.record.correlation_id == "RF-20260106-0001"


def test_refund_in_process_is_unknown(antom_client, antom_reply):
    antom_reply("/ams/api/v1/payments/refund", result("REFUND_IN_PROCESS", "U"))

    answer = antom_client.refund(RefundRequest("RF-1", "2026", Money(2000, "HKD")))

    assert (answer.outcome, answer.result_code) == (CallOutcome.UNKNOWN, "REFUND_IN_PROCESS")


def test_inquiry_refund(antom_client, mocked, antom_reply, payload):
    antom_reply("/ams/api/v1/payments/inquiryRefund", payload("inquiry_refund_success"))

    answer = antom_client.inquiry_refund(refund_request_id="RF-20260106-0001")

    assert json.loads(sent(mocked).body) == {"refundRequestId": "RF-20260106-0001"}
    assert answer.refund_status is RefundStatus.PROCESSING
    assert answer.refund_time is None


# -- call records -----------------------------------------------------------------------------


def test_tokens_are_masked_in_call_records_and_raw(antom_client, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/applyToken", payload("apply_token_success"))

    answer = antom_client.apply_token(
        ApplyTokenRequest.for_auth_code("ALIPAY_HK", "663A8FA9D83648EE8AA11FF682989DC7")
    )

    stored = json.dumps(answer.record.as_dict()) + json.dumps(answer.raw)
    for secret in (
        ACCESS_TOKEN,
        "28100104_20260105_REFRESHTOKEN0123456789",
        "663A8FA9D83648EE8AA11FF682989DC7",
    ):
        assert secret not in stored
        assert secret not in repr(answer)
    assert json.loads(answer.record.response_body)["accessToken"].endswith("6789")


def test_the_pay_token_is_masked_in_call_records(antom_client, antom_reply):
    antom_reply(PAY, result("USER_BALANCE_NOT_ENOUGH", "F"))

    answer = antom_client.pay(pay_request())

    assert ACCESS_TOKEN not in answer.record.request_body
    assert ACCESS_TOKEN not in repr(pay_request())
    assert json.loads(answer.record.request_body)["paymentAmount"] == {"currency": "HKD", "value": "12850"}


def test_errors_carry_redacted_records(antom_client, antom_reply, payload):
    antom_reply("/ams/api/v1/authorizations/applyToken", payload("apply_token_success"), status=503)

    with pytest.raises(ProviderUnavailable) as caught:
        antom_client.apply_token(
            ApplyTokenRequest.for_auth_code("ALIPAY_HK", "663A8FA9D83648EE8AA11FF682989DC7")
        )

    assert ACCESS_TOKEN not in caught.value.record.response_body
    assert "663A8FA9D83648EE8AA11FF682989DC7" not in caught.value.record.request_body


def test_long_bodies_are_trimmed_in_records(antom_client, antom_reply):
    antom_reply(PAY, result("PROCESS_FAIL", "F", extendInfo="x" * 10000))

    answer = antom_client.pay(pay_request())

    assert len(answer.record.response_body) <= 4001


# -- notifications ----------------------------------------------------------------------------


def test_client_verifies_notifications_on_its_notify_path(wire, antom_client, antom_key, payload, reference):
    body = payload("notify_payment_success")
    value = reference.sign(
        antom_key, reference.content("POST", "/antom/notify", wire.client_id, wire.response_time, body)
    )
    headers = {
        "content-type": "application/json",
        "client-id": wire.client_id,
        "request-time": wire.response_time,
        "signature": f"algorithm=RSA256, keyVersion=1, signature={value}",
    }

    assert antom_client.verify_notification(headers, body)
    assert not antom_client.verify_notification(headers, body, path="/behind/proxy/notify")
    assert not antom_client.verify_notification(headers, body.replace(b"12850", b"12851"))
    assert not antom_client.verify_notification(headers | {"client-id": "9999999999999999"}, body)
    assert not antom_client.verify_notification({k: v for k, v in headers.items() if k != "signature"}, body)
