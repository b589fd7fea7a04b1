"""What Worldpay's event names mean in our payment and refund events."""

from __future__ import annotations

import pytest

from dashboard.payments.states import PAYMENT_MACHINE
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus
from dashboard.providers.worldpay.consts import EventName
from dashboard.providers.worldpay.mapping import payment_event
from dashboard.providers.worldpay.mapping import refund_event


@pytest.mark.parametrize("name", list(EventName))
def test_every_worldpay_event_maps_to_a_payment_event(name):
    assert isinstance(payment_event(name), PaymentEvent)


@pytest.mark.parametrize(
    ("name", "event"),
    [("pending", "processing"), ("authorized", "succeeded"), ("sentForSettlement", "succeeded"),
     ("settled", "settled"), ("refused", "failed"), ("error", "failed"), ("cancelled", "cancelled"),
     ("cancelledByCustomer", "cancelled"), ("expired", "expired"), ("requestExpired", "expired"),
     ("chargedBack", "charged_back"), ("chargebackReversed", "dispute_resolved"),
     ("disputeFundsHeld", "dispute_opened"), ("sentForRefund", "note"), ("refunded", "note"),
     ("refundFailed", "note"), ("notInTheSpec", "note")],
)  # fmt: skip
def test_worldpay_events(name, event):
    assert payment_event(name) == event


@pytest.mark.parametrize(
    ("name", "event"),
    [("sentForRefund", "processing"), ("refunded", "succeeded"), ("refundFailed", "failed"),
     ("refundExpired", "failed"), ("settled", None), ("notInTheSpec", None)],
)  # fmt: skip
def test_worldpay_refund_events(name, event):
    assert refund_event(name) == event


@pytest.mark.parametrize("name", ["cancelled", "cancelledByCustomer"])
def test_both_shopper_cancel_names_cancel_a_pending_alipayhk_payment(name):
    assert PAYMENT_MACHINE.next("pending", payment_event(name)) == PaymentStatus.CANCELLED
