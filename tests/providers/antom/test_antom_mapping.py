"""Antom wire shapes: amounts, times, request validation, notifications and result codes."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from dashboard.money import Money
from dashboard.payments.states import PaymentEvent
from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.antom import AuthorizationNotification
from dashboard.providers.antom import ConsultRequest
from dashboard.providers.antom import DisputeJudgedResult
from dashboard.providers.antom import DisputeNotification
from dashboard.providers.antom import DisputeNotificationType
from dashboard.providers.antom import Env
from dashboard.providers.antom import GrantType
from dashboard.providers.antom import MappingError
from dashboard.providers.antom import NotifyType
from dashboard.providers.antom import Operation
from dashboard.providers.antom import PaymentNotification
from dashboard.providers.antom import RefundNotification
from dashboard.providers.antom import RefundRequest
from dashboard.providers.antom import RefundStatus
from dashboard.providers.antom import describe
from dashboard.providers.antom import parse_notification
from dashboard.providers.antom.mapping import format_time
from dashboard.providers.antom.mapping import from_amount
from dashboard.providers.antom.mapping import identify_notification
from dashboard.providers.antom.mapping import notification_news
from dashboard.providers.antom.mapping import parse_result
from dashboard.providers.antom.mapping import parse_time
from dashboard.providers.antom.mapping import request_time
from dashboard.providers.antom.mapping import to_amount
from dashboard.providers.base import CallOutcome

# -- amounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "wire"),
    [
        # Antom's Amount page: USD 1.00 is "100", JPY 1 is "1"; KRW has no minor unit either.
        (Money(12850, "HKD"), {"currency": "HKD", "value": "12850"}),
        (Money(1, "HKD"), {"currency": "HKD", "value": "1"}),
        (Money(1500, "JPY"), {"currency": "JPY", "value": "1500"}),
        (Money(1, "JPY"), {"currency": "JPY", "value": "1"}),
        (Money(50000, "KRW"), {"currency": "KRW", "value": "50000"}),
        (Money(100, "USD"), {"currency": "USD", "value": "100"}),
        (Money(1234, "KWD"), {"currency": "KWD", "value": "1234"}),
        (Money(0, "HKD"), {"currency": "HKD", "value": "0"}),
    ],
)
def test_money_round_trips_through_antom_amounts(money, wire):
    assert to_amount(money) == wire
    assert from_amount(wire) == money


def test_jpy_value_is_yen_not_hundredths():
    assert str(from_amount({"currency": "JPY", "value": "1500"})) == "1500 JPY"
    assert str(from_amount({"currency": "HKD", "value": "1500"})) == "15.00 HKD"


@pytest.mark.parametrize(
    "wire",
    [
        {"currency": "HKD", "value": "12.50"},
        {"currency": "HKD", "value": "-100"},
        {"currency": "HKD", "value": 100},
        {"currency": "HKD", "value": ""},
        {"currency": "HKD", "value": " 100"},
        {"currency": "HKD", "value": "１００"},
        {"currency": "HKD", "value": "1" * 17},
        {"currency": "XXX", "value": "100"},
        {"currency": None, "value": "100"},
        {"value": "100"},
        "100 HKD",
        None,
    ],
)
def test_malformed_amounts_raise_mapping_errors(wire):
    with pytest.raises(MappingError):
        from_amount(wire)


def test_negative_money_is_never_sent():
    with pytest.raises(ValueError):
        to_amount(Money(-1, "HKD"))


# -- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2019-06-01T12:01:01+08:30",
            datetime(2019, 6, 1, 12, 1, 1, tzinfo=timezone(timedelta(hours=8, minutes=30))),
        ),
        ("2026-01-05T10:00:01+08:00", datetime(2026, 1, 5, 2, 0, 1, tzinfo=UTC)),
        ("2026-01-05T02:00:01Z", datetime(2026, 1, 5, 2, 0, 1, tzinfo=UTC)),
        ("2026-01-05T10:00:01.250+08:00", datetime(2026, 1, 5, 2, 0, 1, 250000, tzinfo=UTC)),
    ],
)
def test_times_parse_to_aware_datetimes(text, expected):
    parsed = parse_time(text)

    assert parsed == expected
    assert parsed.utcoffset() is not None


@pytest.mark.parametrize("text", ["2026-01-05T10:00:01", "2026-01-05", "yesterday", "", 1767578400])
def test_times_without_offset_or_malformed_are_refused(text):
    with pytest.raises(MappingError):
        parse_time(text)


def test_times_format_as_documented_and_round_trip():
    moment = datetime(2019, 11, 27, 12, 1, 1, 999, tzinfo=timezone(timedelta(hours=8)))

    assert format_time(moment) == "2019-11-27T12:01:01+08:00"
    assert parse_time(format_time(moment)) == moment.replace(microsecond=0)
    with pytest.raises(ValueError):
        format_time(datetime(2019, 11, 27, 12, 1, 1))


# -- results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("S", CallOutcome.SUCCEEDED), ("F", CallOutcome.FAILED), ("U", CallOutcome.UNKNOWN)],
)
def test_result_status_maps_to_outcome(status, outcome):
    data = {"result": {"resultCode": "X", "resultStatus": status, "resultMessage": "m"}}

    assert parse_result(data) == (outcome, "X", "m")


@pytest.mark.parametrize(
    "data", [{}, {"result": None}, {"result": {}}, {"result": {"resultStatus": "s"}}, {"result": []}, []]
)
def test_a_missing_or_odd_result_is_a_mapping_error(data):
    with pytest.raises(MappingError):
        parse_result(data)


def test_describe_knows_operation_specific_and_common_codes():
    assert describe(Operation.PAY, "USER_BALANCE_NOT_ENOUGH").status is CallOutcome.FAILED
    assert describe(Operation.REFUND, "REFUND_IN_PROCESS").status is CallOutcome.UNKNOWN
    assert describe(Operation.CANCEL, "CANCEL_WINDOW_EXCEED").status is CallOutcome.FAILED
    assert describe(Operation.CONSULT, "INVALID_SIGNATURE").status is CallOutcome.FAILED
    assert describe(Operation.APPLY_TOKEN, "UNKNOWN_EXCEPTION").status is CallOutcome.UNKNOWN
    assert describe(Operation.PAY, "NOT_A_CODE") is None
    assert describe(Operation.PAY, None) is None


# -- request validation -----------------------------------------------------------------------


def test_apply_token_requests_take_the_matching_secret_only():
    assert ApplyTokenRequest.for_auth_code("ALIPAY_HK", "code").grant_type is GrantType.AUTHORIZATION_CODE
    assert ApplyTokenRequest.for_refresh("ALIPAY_HK", "refresh").grant_type is GrantType.REFRESH_TOKEN
    with pytest.raises(ValueError):
        ApplyTokenRequest(GrantType.AUTHORIZATION_CODE, "ALIPAY_HK", refresh_token="refresh")
    with pytest.raises(ValueError):
        ApplyTokenRequest(GrantType.REFRESH_TOKEN, "ALIPAY_HK", auth_code="code", refresh_token="refresh")
    assert "code" not in repr(ApplyTokenRequest.for_auth_code("ALIPAY_HK", "secret-code"))


@pytest.mark.parametrize(
    "overrides",
    [{"refund_request_id": ""}, {"refund_request_id": "R" * 65}, {"amount": Money(0, "HKD")}],
)
def test_refund_requests_are_validated(overrides):
    fields = {"refund_request_id": "RF-1", "payment_id": "2026", "amount": Money(100, "HKD")} | overrides

    with pytest.raises(ValueError):
        RefundRequest(**fields)


@pytest.mark.parametrize(
    "overrides", [{"auth_state": ""}, {"scopes": ()}, {"scopes": ("A", "B", "C", "D", "E")}]
)
def test_consult_requests_are_validated(overrides):
    fields = {
        "customer_belongs_to": "ALIPAY_HK",
        "auth_redirect_url": "https://merchant.example.hk/back",
        "auth_state": "st_1",
        "env": Env(terminal_type="WEB"),
    } | overrides

    with pytest.raises(ValueError):
        ConsultRequest(**fields)


# -- notifications ----------------------------------------------------------------------------


def test_payment_success_notification(payload):
    notification = parse_notification(payload("notify_payment_success"))

    assert isinstance(notification, PaymentNotification)
    assert notification.notify_type is NotifyType.PAYMENT_RESULT
    assert notification.payment_outcome is CallOutcome.SUCCEEDED
    assert notification.payment_id == "202601051940108001001888C0201234567"
    assert notification.amount == Money(12850, "HKD")
    assert notification.payment_time == datetime(2026, 1, 5, 2, 0, 1, tzinfo=UTC)
    assert notification.psp_customer_info.display_customer_id == "852****5678"


def test_payment_failure_notification(payload):
    notification = parse_notification(payload("notify_payment_failure"))

    assert notification.payment_outcome is CallOutcome.FAILED
    assert notification.result_code == "USER_BALANCE_NOT_ENOUGH"
    assert notification.amount == Money(1500, "JPY")
    assert notification.payment_time is None


def test_a_pending_payment_notification_is_not_final():
    body = b"""{"notifyType": "PAYMENT_PENDING", "paymentRequestId": "PAY-1", "paymentId": "2026",
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}}"""

    notification = parse_notification(body)

    assert notification.outcome is CallOutcome.SUCCEEDED
    assert notification.payment_outcome is CallOutcome.UNKNOWN


def test_refund_notification(payload):
    notification = parse_notification(payload("notify_refund_success"))

    assert isinstance(notification, RefundNotification)
    assert notification.refund_status is RefundStatus.SUCCESS
    assert notification.outcome is CallOutcome.SUCCEEDED
    assert notification.refund_request_id == "RF-20260106-0001"
    assert notification.amount == Money(2000, "HKD")
    assert notification.refund_time == datetime.fromisoformat("2026-01-06T09:30:05+08:00")


def test_authorization_code_created_notification(payload):
    notification = parse_notification(payload("notify_auth_code_created"))

    assert isinstance(notification, AuthorizationNotification)
    assert notification.notify_type is NotifyType.AUTHCODE_CREATED
    assert notification.auth_code == "663A8FA9D83648EE8AA11FF682989DC7"
    assert notification.auth_state == "st_20260105_000123"
    assert notification.auth_client_id == "SM_0001"
    assert "663A8FA9D83648EE8AA11FF682989DC7" not in repr(notification)


def test_token_canceled_notification(payload):
    notification = parse_notification(payload("notify_token_canceled"))

    assert notification.notify_type is NotifyType.TOKEN_CANCELED
    assert notification.access_token == "28100103_20260105_ACCESSTOKEN0123456789"
    assert notification.reason == "User unbound the merchant in the wallet app"
    assert notification.access_token not in repr(notification)


def test_dispute_created_notification_as_antom_documents_it(payload):
    # The notification-of-dispute example on Antom's dispute page: no notifyType, no result.
    notification = parse_notification(payload("notify_dispute_created"))

    assert isinstance(notification, DisputeNotification)
    assert notification.notification_type is DisputeNotificationType.DISPUTE_CREATED
    assert notification.dispute_id == "2022092125013101157301040001"
    assert notification.payment_id == "202209231540108001001888XXXXXX0001"
    assert notification.amount == Money(1000, "EUR")
    assert notification.defense_due_time == datetime.fromisoformat("2023-09-20T23:41:32-07:00")
    assert (notification.reason_code, notification.source) == ("4853", "Mastercard")
    news = notification.news
    assert (news.event, news.code, news.stage) == (PaymentEvent.DISPUTE_OPENED, "DISPUTE_CREATED", "opened")
    assert news.request_id == "requestId_123450001" and news.defend_by == notification.defense_due_time


def test_dispute_judged_notification(payload):
    notification = parse_notification(payload("notify_dispute_judged"))

    assert notification.judged_result is DisputeJudgedResult.ACCEPT_BY_MERCHANT
    assert notification.judged_amount == Money(1000, "EUR")
    assert notification.defendable is False
    assert (notification.news.event, notification.news.code) == (
        PaymentEvent.CHARGED_BACK,
        "ACCEPT_BY_MERCHANT",
    )
    assert notification.news.message == "Goods or services not provided"


@pytest.mark.parametrize(
    ("fields", "event"),
    [
        ({"disputeNotificationType": "DISPUTE_CREATED"}, PaymentEvent.DISPUTE_OPENED),
        ({"disputeNotificationType": "DEFENSE_SUPPLIED"}, PaymentEvent.DISPUTE_OPENED),
        ({"disputeNotificationType": "DEFENSE_DUE_ALERT"}, PaymentEvent.DISPUTE_OPENED),
        ({"disputeNotificationType": "DISPUTE_CANCELLED"}, PaymentEvent.DISPUTE_RESOLVED),
        (
            {"disputeNotificationType": "DISPUTE_ACCEPTED", "disputeAcceptReason": "TIMEOUT"},
            PaymentEvent.CHARGED_BACK,
        ),
        ({"disputeNotificationType": "RDR_RESOLVED"}, PaymentEvent.CHARGED_BACK),
        (
            {"disputeNotificationType": "DISPUTE_JUDGED", "disputeJudgedResult": "ACCEPT_BY_CUSTOMER"},
            PaymentEvent.DISPUTE_RESOLVED,
        ),
        (
            {"disputeNotificationType": "DISPUTE_JUDGED", "disputeJudgedResult": "ACCEPT_BY_MERCHANT"},
            PaymentEvent.CHARGED_BACK,
        ),
        (
            {"disputeNotificationType": "DISPUTE_JUDGED", "disputeJudgedResult": "VALIDATE_SUCCESS"},
            PaymentEvent.DISPUTE_RESOLVED,
        ),
        (
            {"disputeNotificationType": "DISPUTE_JUDGED", "disputeJudgedResult": "VALIDATE_FAIL"},
            PaymentEvent.DISPUTE_OPENED,
        ),
    ],
)
def test_every_dispute_notification_type_means_something_for_the_payment(fields, event):
    body = json.dumps({"disputeId": "D1", "paymentId": "P1", "paymentRequestId": "R1", **fields})

    news = notification_news(body)

    assert news.event is event and news.dispute_id == "D1" and news.stage
    assert {kind.value for kind in DisputeNotificationType} >= {fields["disputeNotificationType"]}


def test_every_documented_dispute_type_is_covered():
    from dashboard.providers.antom.mapping import DISPUTE_EVENTS
    from dashboard.providers.antom.mapping import JUDGED_EVENTS

    assert set(DISPUTE_EVENTS) == set(DisputeNotificationType) - {DisputeNotificationType.DISPUTE_JUDGED}
    assert set(JUDGED_EVENTS) == set(DisputeJudgedResult)


def test_dispute_notifications_are_identified_by_type_dispute_and_result(payload):
    created = identify_notification(payload("notify_dispute_created"))
    judged = identify_notification(payload("notify_dispute_judged"))

    assert (created.kind, created.reference) == ("DISPUTE_CREATED", "202209231540108001001888XXXXXX0001")
    assert created.key == "DISPUTE_CREATED:2022092125013101157301040001"
    assert judged.key == "DISPUTE_JUDGED:2022092125013101157301040001:ACCEPT_BY_MERCHANT"


@pytest.mark.parametrize(
    ("sample", "event_at"),
    [
        ("notify_payment_success", "2026-01-05T10:00:01+08:00"),  # paymentTime
        ("notify_refund_success", "2026-01-06T09:30:05+08:00"),  # refundTime
        ("notify_dispute_created", "2022-09-20T23:41:32-07:00"),  # disputeTime
        ("notify_dispute_judged", "2022-10-05T10:12:00-07:00"),  # disputeJudgedTime
        ("notify_payment_failure", None),  # a creation time only: not when it failed
        ("notify_auth_code_created", None),
        ("notify_token_canceled", None),
    ],
)
def test_notifications_are_identified_with_the_time_of_what_they_report(payload, sample, event_at):
    expected = None if event_at is None else datetime.fromisoformat(event_at)

    assert identify_notification(payload(sample)).event_at == expected


def test_an_unreadable_time_leaves_a_notification_without_an_event_time():
    body = b'{"notifyType": "PAYMENT_RESULT", "paymentId": "P1", "paymentTime": "yesterday"}'

    assert identify_notification(body).event_at is None


@pytest.mark.parametrize(
    ("headers", "sent_at"),
    [
        ({"Request-Time": "2026-01-05T10:00:00+08:00"}, datetime(2026, 1, 5, 2, 0, tzinfo=UTC)),
        ({"request-time": "1767578400123"}, datetime(2026, 1, 5, 2, 0, 0, 123000, tzinfo=UTC)),
        ({"Request-Time": "2026-01-05T10:00:00"}, None),  # no offset
        ({"Request-Time": "soon"}, None),
        ({"Request-Time": "9" * 30}, None),
        ({}, None),
    ],
)
def test_the_request_time_antom_signs_is_when_it_sent_a_notification(headers, sent_at):
    assert request_time(headers) == sent_at


@pytest.mark.parametrize(
    "body",
    [
        b'{"disputeNotificationType": "DISPUTE_JUDGED", "disputeId": "D1", "paymentId": "P1"}',
        b'{"disputeNotificationType": "DISPUTE_SOMETHING", "disputeId": "D1", "paymentId": "P1"}',
        b'{"disputeNotificationType": "DISPUTE_CREATED", "paymentId": "P1"}',
        b'{"disputeNotificationType": "DISPUTE_CREATED", "disputeId": "D1"}',
        b'{"disputeNotificationType": "DISPUTE_CREATED", "disputeId": "D1", "paymentId": "P1", '
        b'"defendable": 1}',
    ],
)
def test_malformed_dispute_notifications_raise_mapping_errors(body):
    with pytest.raises(MappingError):
        notification_news(body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"notifyType": "CAPTURE_RESULT", "result": {"resultStatus": "S"}}',
        b'{"notifyType": "PAYMENT_RESULT"}',
        b'{"authorizationNotifyType": "PAYMENT_RESULT"}',
        b'{"authorizationNotifyType": "SOMETHING_ELSE"}',
        b'{"notifyType": "REFUND_RESULT", "refundStatus": "MAYBE", "result": {"resultStatus": "S"}}',
    ],
)
def test_malformed_notifications_raise_mapping_errors(body):
    with pytest.raises(MappingError):
        parse_notification(body)
