"""What Antom's payment and refund statuses and notify types mean in our events."""

from __future__ import annotations

import pytest

from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import RefundEvent
from dashboard.providers.antom.consts import PaymentStatus
from dashboard.providers.antom.consts import RefundStatus
from dashboard.providers.antom.mapping import REFUND_STATUS_EVENTS
from dashboard.providers.antom.mapping import payment_result_event
from dashboard.providers.antom.mapping import payment_status_event


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_every_antom_payment_status_maps_to_an_event(status):
    assert isinstance(payment_status_event(status), PaymentEvent)


@pytest.mark.parametrize(
    ("status", "event"),
    [("SUCCESS", "succeeded"), ("FAIL", "failed"), ("PROCESSING", "processing"), ("CANCELLED", "cancelled"),
     ("PENDING", "processing"), ("SOMETHING_NEW", "note")],
)  # fmt: skip
def test_antom_payment_statuses(status, event):
    assert payment_status_event(status) == event


@pytest.mark.parametrize(
    ("notify_type", "result_status", "event"),
    [("PAYMENT_RESULT", "S", "succeeded"), ("PAYMENT_RESULT", "F", "failed"),
     ("PAYMENT_RESULT", "U", "processing"), ("PAYMENT_PENDING", "S", "processing")],
)  # fmt: skip
def test_antom_payment_notifications(notify_type, result_status, event):
    assert payment_result_event(notify_type, result_status) == event


@pytest.mark.parametrize("status", list(RefundStatus))
def test_every_antom_refund_status_maps(status):
    assert isinstance(REFUND_STATUS_EVENTS[status], RefundEvent)
