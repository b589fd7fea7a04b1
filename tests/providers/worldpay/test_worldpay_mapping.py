"""Money conversion, request bodies and outcome mapping for the Worldpay APM API."""

from __future__ import annotations

import pytest

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.worldpay import CreatePaymentRequest
from dashboard.providers.worldpay import Customer
from dashboard.providers.worldpay import DeviceData
from dashboard.providers.worldpay import MalformedPayload
from dashboard.providers.worldpay import ResultUrls
from dashboard.providers.worldpay.consts import ALIPAY_HK_MAX_HKD
from dashboard.providers.worldpay.mapping import build_payment_body
from dashboard.providers.worldpay.mapping import build_reversal_body
from dashboard.providers.worldpay.mapping import money_from_event_amount
from dashboard.providers.worldpay.mapping import money_from_value
from dashboard.providers.worldpay.mapping import money_to_value
from dashboard.providers.worldpay.mapping import parse_history
from dashboard.providers.worldpay.mapping import payment_outcome
from dashboard.providers.worldpay.mapping import reversal_outcome
from dashboard.providers.worldpay.mapping import why_no_reversal

from .samples import documented_request
from .samples import payload


@pytest.mark.parametrize(
    "money", [Money(1, "HKD"), Money(12850, "HKD"), Money(5_000_000, "HKD"), Money(999, "EUR")]
)
def test_money_round_trips_through_the_api_value(money: Money) -> None:
    assert money_from_value(money_to_value(money)) == money


def test_api_value_uses_amount_and_currency_in_minor_units() -> None:
    assert money_to_value(Money(250, "HKD")) == {"amount": 250, "currency": "HKD"}


def test_event_amount_uses_value_and_currency_code() -> None:
    assert money_from_event_amount({"value": 5000, "currencyCode": "HKD"}) == Money(5000, "HKD")


@pytest.mark.parametrize(
    "value",
    [
        {"amount": "12.50", "currency": "HKD"},
        {"amount": 1.5, "currency": "HKD"},
        {"amount": True, "currency": "HKD"},
        {"amount": 100, "currency": "XXX"},
        {"amount": 100},
        [100, "HKD"],
    ],
)
def test_unreadable_amounts_are_malformed(value: object) -> None:
    with pytest.raises(MalformedPayload):
        money_from_value(value)


def test_payment_body_is_the_documented_example() -> None:
    assert build_payment_body(documented_request(), "default") == payload("create_request_alipayhk")


def test_payment_body_leaves_out_absent_optional_fields() -> None:
    request = CreatePaymentRequest(
        "DASH-ORD-9", Money(500, "HKD"), "Acme", ResultUrls("https://s", "https://p", "https://f")
    )
    assert build_payment_body(request, "default") == {
        "transactionReference": "DASH-ORD-9",
        "merchant": {"entity": "default"},
        "instruction": {
            "method": "alipay_hk",
            "value": {"amount": 500, "currency": "HKD"},
            "narrative": {"line1": "Acme"},
            "paymentInstrument": {"type": "direct"},
            "resultUrls": {"success": "https://s", "pending": "https://p", "failure": "https://f"},
        },
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": Money(100, "USD")},
        {"amount": ALIPAY_HK_MAX_HKD + Money(1, "HKD")},
        {"amount": Money(0, "HKD")},
        {"narrative": "A" * 25},
        {"narrative": "Acme & Sons"},
        {"narrative": ""},
        {"transaction_reference": "has space"},
        {"transaction_reference": "R" * 65},
        {"order_reference": "ORD<1>"},
        {"customer": Customer(first_name="M" * 23)},
        {"customer": Customer(email="not-an-address")},
        {"device_data": DeviceData(device="watch")},
        {"device_data": DeviceData(operating_system="symbian")},
    ],
)
def test_request_outside_the_documented_rules_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        documented_request(**changes)


def test_request_accepts_the_limits() -> None:
    documented_request(amount=ALIPAY_HK_MAX_HKD, narrative="A" * 24, transaction_reference="R" * 64)
    documented_request(amount=Money(6_000_000, "GBP"), narrative="Acme-Shop, Ltd. 01")


def test_reversal_body_carries_reference_and_value() -> None:
    assert build_reversal_body(Money(5000, "HKD"), "RFND-000123-1") == payload("partial_reversal_request")


@pytest.mark.parametrize("reference", ["", "RFND_1", "R" * 129])
def test_reversal_reference_follows_the_documented_pattern(reference: str) -> None:
    with pytest.raises(ValueError):
        build_reversal_body(Money(5000, "HKD"), reference)


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        ("pending", CallOutcome.UNKNOWN),
        ("sentForAuthorization", CallOutcome.UNKNOWN),
        ("authorized", CallOutcome.SUCCEEDED),
        ("sentForSettlement", CallOutcome.SUCCEEDED),
        ("settled", CallOutcome.SUCCEEDED),
        ("sentForRefund", CallOutcome.SUCCEEDED),
        ("refused", CallOutcome.FAILED),
        ("error", CallOutcome.FAILED),
        ("cancelled", CallOutcome.FAILED),
        ("cancelledByCustomer", CallOutcome.FAILED),
        ("expired", CallOutcome.FAILED),
        ("requestExpired", CallOutcome.FAILED),
        ("somethingNew", CallOutcome.UNKNOWN),
    ],
)
def test_payment_outcome(event: str, outcome: CallOutcome) -> None:
    assert payment_outcome(event) is outcome


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        ("sentForRefund", CallOutcome.UNKNOWN),
        ("refunded", CallOutcome.SUCCEEDED),
        ("refundFailed", CallOutcome.FAILED),
    ],
)
def test_reversal_outcome(event: str, outcome: CallOutcome) -> None:
    assert reversal_outcome(event) is outcome


@pytest.mark.parametrize(
    ("last_event", "says"),
    [
        ("authorized", "authorised but not captured"),
        ("pending", "authorised but not captured"),
        ("sentForRefund", "try again once that refund has finished"),
        ("refunded", "nothing is left"),
        ("chargedBack", "its last event is chargedBack"),
        ("notAnEvent", "its last event is notAnEvent"),
        (None, "its last event is unknown"),
    ],
)
def test_why_no_reversal_is_offered_names_the_cause_and_when_to_retry(last_event, says):
    assert says in why_no_reversal(last_event)


def test_a_payment_history_reads_each_refund_taken_or_failed() -> None:
    history = parse_history(payload("payment_queries_history"), record=None)  # type: ignore[arg-type]

    assert history.amount == Money(12850, "HKD")
    refunds = history.news
    assert refunds.balance == Money(7850, "HKD")  # the failed 7.00 is not taken
    assert refunds.taken == {"RFND-000123-1"}
    assert refunds.failed == {"RFND-000123-2": "refundRequestSubmissionFailed"}


def test_a_history_without_a_value_is_malformed() -> None:
    body = payload("payment_queries_history")
    del body["value"]
    with pytest.raises(MalformedPayload):
        parse_history(body, record=None)  # type: ignore[arg-type]
