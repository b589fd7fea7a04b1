"""The Worldpay simulator over HTTP: shopper outcomes, magic amounts, reversals, signed events."""

from __future__ import annotations

import dataclasses
import json

import pytest
import requests

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.worldpay import WorldpayRejected
from dashboard.providers.worldpay import WorldpayValidationError
from dashboard.providers.worldpay import parse_event
from tests.sandbox import worldpay_helpers as wh


@pytest.mark.parametrize(
    ("choice", "events", "target"),
    [
        ("capture", ["authorized", "sentForSettlement"], "success"),
        ("authorise", ["authorized"], "success"),
        ("refuse", ["refused"], "failure"),
        ("error", ["error"], "failure"),
        ("cancel", ["cancelledByCustomer"], "cancel"),
        ("expire", ["requestExpired"], "failure"),
        ("pending", [], "pending"),
    ],
)
def test_each_shopper_outcome_redirects_and_sends_its_events(
    sandbox, worldpay, run_due, fake_clock, choice, events, target
):
    created = wh.create(worldpay, sandbox.url)
    assert created.last_event == "pending" and created.actions == {}
    assert created.redirect_url.startswith(f"{sandbox.url}/sandbox/worldpay/shopper/")

    answer = wh.choose(created.redirect_url, choice)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{sandbox.url}/shop/{target}"
    fake_clock.advance(seconds=1)
    run_due()
    run_due()

    assert sandbox.receiver.event_types() == events
    final = worldpay.query_payment(created.payment_id)
    assert final.last_event == (events[-1] if events else "pending")
    if choice == "capture":
        assert set(final.actions) == {"reverse", "partialReverse"}
    if choice in ("capture", "authorise"):
        assert final.outcome is CallOutcome.SUCCEEDED
    if choice == "authorise":
        assert final.actions == {}  # authorised, not captured: AlipayHK has no cancel


def test_the_shopper_page_is_single_use_but_leave_pending_keeps_it_open(sandbox, worldpay):
    created = wh.create(worldpay, sandbox.url)
    assert wh.choose(created.redirect_url, "pending").status_code == 303
    assert wh.choose(created.redirect_url, "refuse").status_code == 303
    page = requests.get(created.redirect_url, timeout=5)
    assert page.status_code == 410 and "already refused" in page.text


def test_cancel_falls_back_to_the_failure_url_without_a_cancel_url(sandbox):
    body = wh.create_body(sandbox.url)
    created = wh.raw(sandbox.app, "POST", "/apmPayments", body).json()
    answer = wh.choose(created["redirect"], "cancel")
    assert answer.headers["Location"] == f"{sandbox.url}/shop/failure"


def test_magic_500_is_an_error_in_the_sale_answer(sandbox, worldpay, run_due):
    created = wh.create(worldpay, sandbox.url, minor=500)
    assert created.last_event == "error" and created.outcome is CallOutcome.FAILED
    assert created.redirect_url is None and created.actions == {}
    run_due()
    assert sandbox.receiver.event_types() == ["error"]


def _settled(sandbox, worldpay, run_due, fake_clock, minor=12850, currency="HKD"):
    created = wh.create(worldpay, sandbox.url, minor=minor, currency=currency)
    wh.choose(created.redirect_url, "capture")
    fake_clock.advance(seconds=1)
    run_due()
    return worldpay.query_payment(created.payment_id)


def test_partial_then_full_reversal_refund_the_balance(sandbox, worldpay, run_due, fake_clock):
    paid = _settled(sandbox, worldpay, run_due, fake_clock)
    part = worldpay.partial_reverse(
        paid.actions["partialReverse"], amount=Money(5000, "HKD"), reference="RFND-1"
    )
    assert part.last_event == "sentForRefund" and part.actions == {} and part.command_id
    fake_clock.advance(seconds=1)
    run_due()
    after = worldpay.query_payment(paid.payment_id)
    assert after.last_event == "refunded" and set(after.actions) == {"reverse", "partialReverse"}

    rest = worldpay.reverse(after.actions["reverse"])
    assert rest.last_event == "sentForRefund"
    fake_clock.advance(seconds=1)
    run_due()
    done = worldpay.query_payment(paid.payment_id)
    assert done.last_event == "refunded" and done.actions == {}

    events = [parse_event(r.body) for r in sandbox.receiver.events()]
    refunds = [(e.event_type, e.reference, e.amount) for e in events if e.concerns_refund]
    # As in the Events spec, refunded carries no reference (only sentForRefund and refundFailed do).
    assert refunds == [
        ("sentForRefund", "RFND-1", Money(5000, "HKD")),
        ("refunded", None, Money(5000, "HKD")),
        ("sentForRefund", None, Money(7850, "HKD")),
        ("refunded", None, Money(7850, "HKD")),
    ]
    assert {e.transaction_reference for e in events} == {events[0].transaction_reference}


def test_magic_700_accepts_the_reversal_then_fails_it_by_webhook(sandbox, worldpay, run_due, fake_clock):
    paid = _settled(sandbox, worldpay, run_due, fake_clock, minor=700)
    accepted = worldpay.reverse(paid.actions["reverse"], amount=Money(700, "HKD"), reference="R700")
    assert accepted.last_event == "sentForRefund"
    fake_clock.advance(seconds=1)
    run_due()
    assert sandbox.receiver.event_types()[-2:] == ["sentForRefund", "refundFailed"]
    failed = parse_event(sandbox.receiver.events()[-1].body)
    assert failed.outcome is CallOutcome.FAILED and failed.reference == "R700"
    again = worldpay.query_payment(paid.payment_id)
    assert again.last_event == "refundFailed" and set(again.actions) == {"reverse", "partialReverse"}


def test_reversal_refusals(sandbox, worldpay, run_due, fake_clock):
    pending = wh.create(worldpay, sandbox.url)
    with pytest.raises(WorldpayRejected) as wrong_state:
        worldpay.reverse(pending.payment_id)
    assert wrong_state.value.error_name == "orderNotReady"
    wh.choose(pending.redirect_url, "authorise")  # authorized, not yet sentForSettlement: no cancel
    with pytest.raises(WorldpayRejected) as no_cancel:
        worldpay.partial_reverse(pending.payment_id, amount=Money(100, "HKD"), reference="X1")
    assert no_cancel.value.error_name == "orderNotReady"

    paid = _settled(sandbox, worldpay, run_due, fake_clock)
    with pytest.raises(WorldpayValidationError) as above:
        worldpay.partial_reverse(paid.actions["partialReverse"], amount=Money(12851, "HKD"), reference="X2")
    assert above.value.field_paths == ("$.value.amount",)
    with pytest.raises(WorldpayValidationError) as currency:
        worldpay.partial_reverse(paid.actions["partialReverse"], amount=Money(100, "SGD"), reference="X3")
    assert currency.value.field_paths == ("$.value.currency",)
    with pytest.raises(WorldpayValidationError):
        worldpay.reverse(paid.actions["reverse"], amount=Money(100, "HKD"), reference="X4")
    for path in ("settlements", "partialSettlements", "cancellations"):
        answer = wh.raw(sandbox.app, "POST", f"/apmPayments/{paid.payment_id}/{path}")
        assert answer.status_code == 400 and answer.json()["errorName"] == "orderNotReady"
    missing = wh.raw(sandbox.app, "POST", "/apmPayments/nope/reversals")
    assert missing.status_code == 404 and missing.json()["errorName"] == "paymentNotFound"


def test_events_are_signed_and_typed(sandbox, worldpay, run_due, fake_clock):
    _settled(sandbox, worldpay, run_due, fake_clock)
    secrets = dict(sandbox.app.extensions["sandbox"].worldpay.webhook_secrets)
    assert len(secrets) == 1
    for received in sandbox.receiver.events():
        assert received.headers["Content-Type"] == "application/vnd.worldpay.events-v1.hal+json"
        parts = set(received.headers["Event-Signature"].split(","))
        assert parts == wh.independent_signatures(received.body, secrets)
        details = json.loads(received.body)["eventDetails"]
        assert details["amount"] == {"value": 12850, "currencyCode": "HKD"}
        assert details["classification"] == "payment"


def test_rotation_signs_with_every_secret(sandbox, worldpay, run_due, monkeypatch):
    rotating = {"1": "old-secret", "2": "new-secret"}
    settings = dataclasses.replace(sandbox.sandbox.worldpay, webhook_secrets=rotating)
    monkeypatch.setattr(sandbox.sandbox, "worldpay", settings)
    wh.create(worldpay, sandbox.url, minor=500)
    run_due()
    (received,) = sandbox.receiver.events()
    parts = received.headers["Event-Signature"].split(",")
    assert len(parts) == 2 and set(parts) == wh.independent_signatures(received.body, rotating)


def test_events_are_retried_with_back_off_and_stay_in_order(sandbox, worldpay, run_due, fake_clock):
    sandbox.receiver.fail_next(2)
    created = wh.create(worldpay, sandbox.url)
    wh.choose(created.redirect_url, "capture")
    fake_clock.advance(seconds=0.01)  # past the compressed settle delay (5 ms)
    run_due()  # authorized fails; sentForSettlement waits behind it
    assert sandbox.receiver.event_types() == ["authorized"]
    fake_clock.advance(seconds=0.03)
    run_due()  # retry after the compressed 30 s fails again
    fake_clock.advance(seconds=0.06)
    run_due()
    run_due()
    assert sandbox.receiver.event_types() == ["authorized", "authorized", "authorized", "sentForSettlement"]
    from dashboard.sandbox.store import Delivery
    from dashboard.sandbox.store import DeliveryAttempt
    from dashboard.sandbox.store import transaction

    with transaction(sandbox.sandbox.engine) as session:
        statuses = [d.status for d in session.query(Delivery).order_by(Delivery.id)]
        attempts = session.query(DeliveryAttempt).count()
    assert statuses == ["acknowledged", "acknowledged"] and attempts == 4


def test_duplicate_fault_sends_an_event_twice(sandbox, worldpay, run_due):
    from tests.sandbox.worldpay_helpers import raw

    body = wh.create_body(sandbox.url, instruction__value={"amount": 500, "currency": "HKD"})
    answer = raw(
        sandbox.app, "POST", "/apmPayments", body, headers={"X-Sandbox-Fault": "duplicate_notification"}
    )
    assert answer.status_code == 201
    run_due()
    events = sandbox.receiver.events()
    assert len(events) == 2 and events[0].json["eventId"] == events[1].json["eventId"]


def test_sandbox_page_lists_worldpay_objects(sandbox, worldpay):
    created = wh.create(worldpay, sandbox.url, reference="SHOWN-ON-PAGE-1")
    page = requests.get(f"{sandbox.url}/sandbox/", timeout=5)
    assert page.status_code == 200
    assert "Worldpay payments and reversals" in page.text and "SHOWN-ON-PAGE-1" in page.text
    assert created.last_event == "pending"


def test_no_reversal_is_offered_while_one_is_in_flight(sandbox, worldpay, run_due, fake_clock):
    paid = _settled(sandbox, worldpay, run_due, fake_clock)
    worldpay.partial_reverse(paid.actions["partialReverse"], amount=Money(1000, "HKD"), reference="FLY-1")

    during = worldpay.query_payment(paid.payment_id)
    assert (during.last_event, during.actions) == ("sentForRefund", {})
    with pytest.raises(WorldpayRejected) as refused:
        worldpay.partial_reverse(paid.payment_id, amount=Money(500, "HKD"), reference="FLY-2")
    assert (refused.value.status, refused.value.error_name) == (400, "orderNotReady")

    fake_clock.advance(seconds=1)
    run_due()
    after = worldpay.query_payment(paid.payment_id)
    assert after.last_event == "refunded" and set(after.actions) == {"reverse", "partialReverse"}


def _details(sandbox) -> dict[str, dict]:
    """The received events' eventDetails by type (the last of each)."""
    return {
        received.json["eventDetails"]["type"]: received.json["eventDetails"]
        for received in sandbox.receiver.events()
    }


@pytest.mark.parametrize("shape", ["spec", "rich"])
def test_event_shapes_follow_the_spec_unless_switched_to_the_richer_ones(
    sandbox, worldpay, run_due, fake_clock, monkeypatch, shape
):
    if shape == "rich":
        monkeypatch.setitem(sandbox.app.config, "SANDBOX_WORLDPAY_EVENT_SHAPE", "rich")
    cancelled, expired = wh.create(worldpay, sandbox.url), wh.create(worldpay, sandbox.url)
    wh.choose(cancelled.redirect_url, "cancel")
    wh.choose(expired.redirect_url, "expire")
    paid = _settled(sandbox, worldpay, run_due, fake_clock)
    worldpay.partial_reverse(paid.actions["partialReverse"], amount=Money(5000, "HKD"), reference="SHAPE-1")
    fake_clock.advance(seconds=1)
    run_due()

    details = _details(sandbox)
    cancel = "cancelledByCustomer" if shape == "spec" else "cancelled"
    assert worldpay.query_payment(cancelled.payment_id).last_event == cancel
    assert set(details) >= {cancel, "requestExpired", "sentForRefund", "refunded"}
    assert details["sentForRefund"]["reference"] == "SHAPE-1"
    if shape == "spec":
        # The Events spec's schemas: refunded has no reference; the shopper's cancel and the
        # expiry have no downstreamReference and name the payment method.
        assert "reference" not in details["refunded"]
        for kind in ("cancelledByCustomer", "requestExpired"):
            assert "downstreamReference" not in details[kind]
            assert details[kind]["paymentInstrument"] == {"method": "alipay_hk"}
    else:
        assert details["refunded"]["reference"] == "SHAPE-1"
        assert details["cancelled"]["downstreamReference"] and "paymentInstrument" not in details["cancelled"]
        assert details["requestExpired"]["downstreamReference"]


@pytest.mark.parametrize("sent", [True, False])
def test_refunded_events_are_sent_unless_switched_off_and_the_history_tells_either_way(
    sandbox, worldpay, run_due, fake_clock, monkeypatch, sent
):
    monkeypatch.setitem(sandbox.app.config, "SANDBOX_WORLDPAY_REFUNDED_EVENTS", sent)
    paid = _settled(sandbox, worldpay, run_due, fake_clock, minor=20000)
    worldpay.partial_reverse(paid.actions["partialReverse"], amount=Money(5000, "HKD"), reference="HIST-1")
    fake_clock.advance(seconds=1)
    run_due()

    assert ("refunded" in sandbox.receiver.event_types()) is sent
    assert worldpay.query_payment(paid.payment_id).last_event == "refunded"
    history = worldpay.retrieve_payment(paid.payment_id)
    assert history.amount == Money(20000, "HKD")
    assert history.news.balance == Money(15000, "HKD")
    assert history.news.taken == {"HIST-1"} and history.news.failed == {}
