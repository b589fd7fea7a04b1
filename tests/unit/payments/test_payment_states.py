"""The payment state machine, every (status, event) pair, and the provider mappings."""

from __future__ import annotations

import itertools

import pytest

from dashboard.payments.states import PAYMENT_MACHINE
from dashboard.payments.states import REFUND_MACHINE
from dashboard.payments.states import IgnoredEvent
from dashboard.payments.states import InvalidTransition
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import antom_dispute_event
from dashboard.payments.states import antom_payment_event
from dashboard.payments.states import antom_payment_result_event
from dashboard.payments.states import next_status
from dashboard.payments.states import worldpay_payment_event
from dashboard.payments.states import worldpay_refund_event
from dashboard.providers.antom.consts import PaymentStatus as AntomPaymentStatus
from dashboard.providers.worldpay.consts import EventName

# Expected outcomes written out independently of the table in the code: a status name means
# "moves there", "late" means IgnoredEvent; a pair not listed must raise InvalidTransition.
OPEN = {
    "processing": "processing",
    "succeeded": "succeeded",
    "settled": "settled",
    "failed": "failed",
    "settlement_failed": "failed",
    "cancelled": "cancelled",
    "expired": "expired",
    "dispute_opened": "disputed",
    "charged_back": "charged_back",
    "dispute_resolved": "settled",
}
CLOSED = {
    "processing": "late",
    "failed": "late",
    "settlement_failed": "late",
    "cancelled": "late",
    "expired": "late",
}
EXPECTED = {
    "pending": {**OPEN, "note": "pending"},
    "processing": {**OPEN, "processing": "late", "note": "processing"},
    "succeeded": {
        "processing": "late",
        "succeeded": "late",
        "settled": "settled",
        "settlement_failed": "failed",
        "cancelled": "cancelled",
        "dispute_opened": "disputed",
        "charged_back": "charged_back",
        "dispute_resolved": "settled",
        "note": "succeeded",
    },
    "settled": {
        "processing": "late",
        "succeeded": "late",
        "settled": "late",
        "dispute_opened": "disputed",
        "charged_back": "charged_back",
        "dispute_resolved": "late",
        "note": "settled",
    },
    "failed": {**CLOSED, "note": "failed"},
    "cancelled": {**CLOSED, "note": "cancelled"},
    "expired": {**CLOSED, "note": "expired"},
    "disputed": {
        "processing": "late",
        "succeeded": "late",
        "settled": "late",
        "dispute_opened": "late",
        "charged_back": "charged_back",
        "dispute_resolved": "settled",
        "note": "disputed",
    },
    "charged_back": {
        "processing": "late",
        "succeeded": "late",
        "settled": "late",
        "dispute_opened": "late",
        "charged_back": "late",
        "dispute_resolved": "settled",
        "note": "charged_back",
    },
}

PAIRS = list(itertools.product(PaymentStatus, PaymentEvent))


def test_the_expected_table_names_every_status():
    assert set(EXPECTED) == {status.value for status in PaymentStatus}


@pytest.mark.parametrize(("status", "event"), PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_status_and_event_pair(status, event):
    expected = EXPECTED[status].get(event)
    if expected is None:
        with pytest.raises(InvalidTransition) as caught:
            next_status(status, event)
        assert (caught.value.status, caught.value.event) == (status, event)
    elif expected == "late":
        with pytest.raises(IgnoredEvent):
            next_status(status, event)
    else:
        assert next_status(status, event) == PaymentStatus(expected)


def test_invalid_and_ignored_are_distinct_errors():
    assert not issubclass(IgnoredEvent, InvalidTransition)
    assert not issubclass(InvalidTransition, IgnoredEvent)


def test_a_success_after_a_failure_is_a_contradiction_not_a_silent_change():
    with pytest.raises(InvalidTransition):
        next_status("failed", "succeeded")


def test_a_late_processing_never_moves_a_paid_payment_back():
    with pytest.raises(IgnoredEvent):
        next_status("succeeded", "processing")


def test_statuses_and_events_are_checked_by_name():
    with pytest.raises(ValueError):
        next_status("paid", "succeeded")
    with pytest.raises(ValueError):
        next_status("pending", "paid")


def test_allowed_lists_the_moving_events():
    assert PAYMENT_MACHINE.allowed("settled") == {
        PaymentEvent.DISPUTE_OPENED,
        PaymentEvent.CHARGED_BACK,
        PaymentEvent.NOTE,
    }


# --- provider vocabularies ------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(AntomPaymentStatus))
def test_every_antom_payment_status_maps_to_an_event(status):
    assert isinstance(antom_payment_event(status), PaymentEvent)


@pytest.mark.parametrize(
    ("status", "event"),
    [("SUCCESS", "succeeded"), ("FAIL", "failed"), ("PROCESSING", "processing"), ("CANCELLED", "cancelled"),
     ("PENDING", "processing"), ("SOMETHING_NEW", "note")],
)  # fmt: skip
def test_antom_payment_statuses(status, event):
    assert antom_payment_event(status) == event


@pytest.mark.parametrize(
    ("notify_type", "result_status", "event"),
    [("PAYMENT_RESULT", "S", "succeeded"), ("PAYMENT_RESULT", "F", "failed"),
     ("PAYMENT_RESULT", "U", "processing"), ("PAYMENT_PENDING", "S", "processing")],
)  # fmt: skip
def test_antom_payment_notifications(notify_type, result_status, event):
    assert antom_payment_result_event(notify_type, result_status) == event


def test_antom_disputes_are_recorded():
    assert antom_dispute_event("DISPUTE_CREATED") == PaymentEvent.DISPUTE_OPENED
    assert antom_dispute_event("DISPUTE_JUDGED_LOST") == PaymentEvent.CHARGED_BACK
    assert antom_dispute_event("SOMETHING_NEW") == PaymentEvent.NOTE


@pytest.mark.parametrize("name", list(EventName))
def test_every_worldpay_event_maps_to_a_payment_event(name):
    assert isinstance(worldpay_payment_event(name), PaymentEvent)


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
    assert worldpay_payment_event(name) == event


@pytest.mark.parametrize(
    ("name", "event"),
    [("sentForRefund", "processing"), ("refunded", "succeeded"), ("refundFailed", "failed"),
     ("refundExpired", "failed"), ("settled", None), ("notInTheSpec", None)],
)  # fmt: skip
def test_worldpay_refund_events(name, event):
    assert worldpay_refund_event(name) == event


@pytest.mark.parametrize("name", ["cancelled", "cancelledByCustomer"])
def test_both_shopper_cancel_names_cancel_a_pending_alipayhk_payment(name):
    assert next_status("pending", worldpay_payment_event(name)) == PaymentStatus.CANCELLED


@pytest.mark.parametrize(
    ("machine", "status", "event", "confirms"),
    [
        (PAYMENT_MACHINE, "succeeded", "succeeded", True),
        (PAYMENT_MACHINE, "succeeded", "processing", False),
        (PAYMENT_MACHINE, "failed", "failed", True),
        (PAYMENT_MACHINE, "settled", "succeeded", False),
        (REFUND_MACHINE, "succeeded", "succeeded", True),
        (REFUND_MACHINE, "succeeded", "processing", False),
    ],
)
def test_a_repeated_status_is_a_confirmation_and_an_older_one_is_late(machine, status, event, confirms):
    with pytest.raises(IgnoredEvent) as ignored:
        machine.next(status, event)

    assert ignored.value.confirms is confirms
