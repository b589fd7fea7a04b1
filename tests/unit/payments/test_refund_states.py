"""The refund and cancel state machines, every pair, and the pure refund checks."""

from __future__ import annotations

import itertools

import pytest

from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition
from dashboard.payments.states import CANCEL_MACHINE
from dashboard.payments.states import REFUND_MACHINE
from dashboard.payments.states import CancelEvent
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import DuplicateRefund
from dashboard.payments.states import NotRefundable
from dashboard.payments.states import RefundEvent
from dashboard.payments.states import RefundExceedsBalance
from dashboard.payments.states import RefundStatus
from dashboard.payments.states import check_refund
from dashboard.payments.states import refundable_minor

REFUND_EXPECTED = {
    "awaiting_approval": {"approved": "submitted", "rejected": "rejected"},
    "rejected": {"rejected": "late"},
    "submitted": {
        "approved": "late",
        "processing": "processing",
        "succeeded": "succeeded",
        "failed": "failed",
        "unresolved": "unresolved",
    },
    "processing": {
        "approved": "late",
        "processing": "late",
        "succeeded": "succeeded",
        "failed": "failed",
        "unresolved": "unresolved",
    },
    # Left to staff; the provider's late word still finishes it.
    "unresolved": {
        "approved": "late",
        "processing": "late",
        "unresolved": "late",
        "succeeded": "succeeded",
        "failed": "failed",
    },
    "succeeded": {"approved": "late", "processing": "late", "succeeded": "late", "unresolved": "late"},
    "failed": {"approved": "late", "processing": "late", "failed": "late", "unresolved": "late"},
}
CANCEL_EXPECTED = {
    "submitted": {"processing": "processing", "succeeded": "succeeded", "failed": "failed"},
    "processing": {"processing": "late", "succeeded": "succeeded", "failed": "failed"},
    "succeeded": {"processing": "late", "succeeded": "late"},
    "failed": {"processing": "late", "failed": "late"},
}

REFUND_PAIRS = list(itertools.product(RefundStatus, RefundEvent))
CANCEL_PAIRS = list(itertools.product(CancelStatus, CancelEvent))


def _check(function, expected, status, event, result_type):
    outcome = expected[status].get(event)
    if outcome is None:
        with pytest.raises(InvalidTransition):
            function(status, event)
    elif outcome == "late":
        with pytest.raises(IgnoredEvent):
            function(status, event)
    else:
        assert function(status, event) == result_type(outcome)


def test_the_expected_tables_name_every_status():
    assert set(REFUND_EXPECTED) == {status.value for status in RefundStatus}
    assert set(CANCEL_EXPECTED) == {status.value for status in CancelStatus}


@pytest.mark.parametrize(("status", "event"), REFUND_PAIRS, ids=[f"{s}-{e}" for s, e in REFUND_PAIRS])
def test_every_refund_status_and_event_pair(status, event):
    _check(REFUND_MACHINE.next, REFUND_EXPECTED, status, event, RefundStatus)


@pytest.mark.parametrize(("status", "event"), CANCEL_PAIRS, ids=[f"{s}-{e}" for s, e in CANCEL_PAIRS])
def test_every_cancel_status_and_event_pair(status, event):
    _check(CANCEL_MACHINE.next, CANCEL_EXPECTED, status, event, CancelStatus)


def test_a_refund_awaiting_approval_cannot_succeed_before_it_is_sent():
    with pytest.raises(InvalidTransition):
        REFUND_MACHINE.next("awaiting_approval", "succeeded")


def test_a_failure_after_a_successful_refund_is_a_contradiction():
    with pytest.raises(InvalidTransition):
        REFUND_MACHINE.next("succeeded", "failed")


# --- refundable balance ------------------------------------------------------------------------


def test_refundable_counts_in_flight_and_succeeded_refunds_only():
    refunds = [
        ("succeeded", 300),
        ("processing", 200),
        ("awaiting_approval", 100),
        ("failed", 400),
        ("rejected", 50),
    ]
    assert refundable_minor(1000, refunds) == 400


def test_check_refund_returns_the_balance_left():
    assert check_refund("succeeded", 1000, [("succeeded", 300)], 700, "r-2", ["r-1"]) == 0


def test_check_refund_refuses_more_than_the_balance():
    with pytest.raises(RefundExceedsBalance):
        check_refund("settled", 1000, [("submitted", 600)], 401, "r-2")


def test_check_refund_refuses_a_request_id_used_before():
    with pytest.raises(DuplicateRefund):
        check_refund("succeeded", 1000, [], 100, "r-1", ["r-1"])


@pytest.mark.parametrize(
    "status", ["pending", "processing", "failed", "cancelled", "expired", "disputed", "charged_back"]
)
def test_check_refund_refuses_a_payment_without_money(status):
    with pytest.raises(NotRefundable):
        check_refund(status, 1000, [], 100, "r-1")


@pytest.mark.parametrize("amount", [0, -1])
def test_check_refund_refuses_a_non_positive_amount(amount):
    with pytest.raises(NotRefundable):
        check_refund("succeeded", 1000, [], amount, "r-1")
