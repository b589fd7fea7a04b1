"""The payment state machine, every (status, event) pair, and confirmations versus late events."""

from __future__ import annotations

import itertools

import pytest

from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition
from dashboard.payments.states import PAYMENT_MACHINE
from dashboard.payments.states import REFUND_MACHINE
from dashboard.payments.states import PaymentEvent
from dashboard.payments.states import PaymentStatus

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
    # A success sent before an Antom cancel took effect (antom.md §5.4).
    "cancelled": {**CLOSED, "succeeded": "late", "note": "cancelled"},
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
            PAYMENT_MACHINE.next(status, event)
        assert (caught.value.status, caught.value.event) == (status, event)
    elif expected == "late":
        with pytest.raises(IgnoredEvent):
            PAYMENT_MACHINE.next(status, event)
    else:
        assert PAYMENT_MACHINE.next(status, event) == PaymentStatus(expected)


def test_invalid_and_ignored_are_distinct_errors():
    assert not issubclass(IgnoredEvent, InvalidTransition)
    assert not issubclass(InvalidTransition, IgnoredEvent)


def test_a_success_after_a_failure_is_a_contradiction_not_a_silent_change():
    with pytest.raises(InvalidTransition):
        PAYMENT_MACHINE.next("failed", "succeeded")


def test_a_late_processing_never_moves_a_paid_payment_back():
    with pytest.raises(IgnoredEvent):
        PAYMENT_MACHINE.next("succeeded", "processing")


def test_statuses_and_events_are_checked_by_name():
    with pytest.raises(ValueError):
        PAYMENT_MACHINE.next("paid", "succeeded")
    with pytest.raises(ValueError):
        PAYMENT_MACHINE.next("pending", "paid")


def test_allowed_lists_the_moving_events():
    assert PAYMENT_MACHINE.allowed("settled") == {
        PaymentEvent.DISPUTE_OPENED,
        PaymentEvent.CHARGED_BACK,
        PaymentEvent.NOTE,
    }


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
