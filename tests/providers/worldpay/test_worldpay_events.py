"""Parsing of Worldpay webhook events (§1.10.2)."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from dashboard.money import Money
from dashboard.payments.states import RefundEvent
from dashboard.providers.base import CallOutcome
from dashboard.providers.news import RefundNews
from dashboard.providers.worldpay import MalformedPayload
from dashboard.providers.worldpay import parse_event
from dashboard.providers.worldpay.consts import WEBHOOK_PAYMENT_EVENTS
from dashboard.providers.worldpay.mapping import identify_event

from .samples import payload
from .samples import payload_bytes


def with_type(event_type: str) -> bytes:
    """Return the documented sample event re-typed as ``event_type``."""
    body = payload("event_sent_for_refund")
    body["eventDetails"]["type"] = event_type
    return json.dumps(body).encode()


def test_documented_event_is_read_field_by_field() -> None:
    event = parse_event(payload_bytes("event_sent_for_refund"))

    assert event.event_id == "3f1d2c3b-8a3e-4a55-9b7e-7d9f2c7a1e10"
    assert event.timestamp == datetime(2026, 3, 14, 9, 21, 44, 512000, tzinfo=UTC)
    assert event.event_type == "sentForRefund"
    assert event.classification == "payment"
    assert event.transaction_reference == "DASH-ORD-000123"
    assert event.downstream_reference == "3378792436"
    assert event.payment_date == date(2026, 3, 14)
    assert event.reference == "RFND-000123-1"
    assert event.amount == Money(5000, "HKD")
    assert event.concerns_refund
    assert event.outcome is CallOutcome.UNKNOWN


@pytest.mark.parametrize("event_type", sorted(WEBHOOK_PAYMENT_EVENTS))
def test_every_documented_event_type_parses(event_type: str) -> None:
    event = parse_event(with_type(event_type))
    assert event.event_type == event_type
    assert event.transaction_reference == "DASH-ORD-000123"


@pytest.mark.parametrize(
    ("event_type", "outcome"),
    [
        ("authorized", CallOutcome.SUCCEEDED),
        ("sentForSettlement", CallOutcome.SUCCEEDED),
        ("refused", CallOutcome.FAILED),
        ("error", CallOutcome.FAILED),
        ("cancelled", CallOutcome.FAILED),
        ("cancelledByCustomer", CallOutcome.FAILED),
        ("expired", CallOutcome.FAILED),
        ("requestExpired", CallOutcome.FAILED),
        ("refunded", CallOutcome.SUCCEEDED),
        ("refundFailed", CallOutcome.FAILED),
        ("settlementFailed", CallOutcome.UNKNOWN),
        ("chargedBack", CallOutcome.SUCCEEDED),
    ],
)
def test_event_outcome(event_type: str, outcome: CallOutcome) -> None:
    assert parse_event(with_type(event_type)).outcome is outcome


def test_shopper_cancel_is_understood_in_both_spellings() -> None:
    cancelled = parse_event(with_type("cancelled"))
    by_customer = parse_event(payload_bytes("event_cancelled_by_customer"))

    assert cancelled.outcome is by_customer.outcome is CallOutcome.FAILED
    assert not cancelled.concerns_refund and not by_customer.concerns_refund
    assert by_customer.payment_method == "alipay_hk"
    assert by_customer.reference is None
    assert by_customer.amount == Money(12850, "HKD")


def test_refund_failed_keeps_the_reversal_reference_and_refusal() -> None:
    event = parse_event(payload_bytes("event_refund_failed"))

    assert event.concerns_refund
    assert event.outcome is CallOutcome.FAILED
    assert event.reference == "RFND-000123-1"
    assert event.amount == Money(700, "HKD")
    assert (event.refusal_code, event.refusal_description) == ("5", "REFUSED")


def test_timestamp_with_a_zone_is_converted_to_utc() -> None:
    body = payload("event_sent_for_refund")
    body["eventTimestamp"] = "2026-03-14T17:21:44.512+08:00"
    assert parse_event(json.dumps(body)).timestamp == datetime(2026, 3, 14, 9, 21, 44, 512000, tzinfo=UTC)


def test_event_without_amount_or_date_parses() -> None:
    body = payload("event_sent_for_refund")
    del body["eventDetails"]["date"]
    body["eventDetails"]["amount"] = None
    event = parse_event(json.dumps(body))
    assert event.amount is None and event.payment_date is None


def broken(change) -> bytes:
    body = payload("event_sent_for_refund")
    change(body)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        broken(lambda b: b.pop("eventDetails")),
        broken(lambda b: b.pop("eventId")),
        broken(lambda b: b.update(eventTimestamp="yesterday")),
        broken(lambda b: b["eventDetails"].pop("type")),
        broken(lambda b: b["eventDetails"].pop("transactionReference")),
        broken(lambda b: b["eventDetails"].update(amount={"value": "50.00", "currencyCode": "HKD"})),
        broken(lambda b: b["eventDetails"].update(date="14/03/2026")),
    ],
)
def test_malformed_event_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_event(body)


def test_refunded_as_the_spec_shows_it_names_the_sale_and_amount_but_no_refund() -> None:
    event = parse_event(payload_bytes("event_refunded"))

    assert event.reference is None and event.concerns_refund
    news = event.news
    assert isinstance(news, RefundNews)
    assert (news.event, news.request_id, news.provider_refund_id) == (RefundEvent.SUCCEEDED, None, None)
    assert (news.payment_request_id, news.amount) == ("DASH-ORD-000123", Money(5000, "HKD"))


def test_request_expired_as_the_spec_shows_it_has_no_downstream_reference() -> None:
    event = parse_event(payload_bytes("event_request_expired"))

    assert event.downstream_reference is None and event.payment_method == "alipay_hk"
    assert event.outcome is CallOutcome.FAILED


def test_an_event_is_identified_with_its_timestamp_as_its_event_time() -> None:
    identity = identify_event(payload_bytes("event_sent_for_refund"))

    assert identity.event_at == datetime(2026, 3, 14, 9, 21, 44, 512000, tzinfo=UTC)


@pytest.mark.parametrize("timestamp", [None, 1773480104, "", "14/03/2026 09:21"])
def test_an_event_without_a_readable_timestamp_is_identified_without_an_event_time(timestamp) -> None:
    body = payload("event_sent_for_refund")
    body["eventTimestamp"] = timestamp

    assert identify_event(json.dumps(body)).event_at is None
