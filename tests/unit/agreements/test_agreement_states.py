"""The agreement state machine, every (status, event) pair, and TOKEN_CANCELED's meaning."""

from __future__ import annotations

import itertools

import pytest

from dashboard.agreements.states import AGREEMENT_MACHINE
from dashboard.agreements.states import AgreementEvent
from dashboard.agreements.states import AgreementStatus
from dashboard.agreements.states import token_canceled_event
from dashboard.agreements.states import why_not_chargeable
from dashboard.agreements.states import why_not_revocable
from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition

CLOSED = {"auth_code_received": "late", "failed": "late", "expired": "late"}
OVER = {**CLOSED, "token_issued": "late", "revoked": "late", "cancelled_by_customer": "late"}
EXPECTED = {
    "pending": {
        "auth_code_received": "pending",
        "token_issued": "active",
        "failed": "failed",
        "expired": "expired",
        "cancelled_by_customer": "cancelled_by_customer",
    },
    "active": {
        "auth_code_received": "late",
        "token_issued": "late",
        "token_refreshed": "active",
        "failed": "late",
        "expired": "expired",
        "revoked": "revoked",
        "cancelled_by_customer": "cancelled_by_customer",
    },
    "expired": OVER,
    "revoked": OVER,
    "cancelled_by_customer": OVER,
    "failed": CLOSED,
}

PAIRS = list(itertools.product(AgreementStatus, AgreementEvent))


def test_the_expected_table_names_every_status():
    assert set(EXPECTED) == {status.value for status in AgreementStatus}


@pytest.mark.parametrize(("status", "event"), PAIRS, ids=[f"{s}-{e}" for s, e in PAIRS])
def test_every_status_and_event_pair(status, event):
    expected = EXPECTED[status].get(event)
    if expected is None:
        with pytest.raises(InvalidTransition):
            AGREEMENT_MACHINE.next(status, event)
    elif expected == "late":
        with pytest.raises(IgnoredEvent):
            AGREEMENT_MACHINE.next(status, event)
    else:
        assert AGREEMENT_MACHINE.next(status, event) == AgreementStatus(expected)


def test_a_refresh_of_an_expired_agreement_is_a_contradiction():
    with pytest.raises(InvalidTransition):
        AGREEMENT_MACHINE.next("expired", "token_refreshed")


@pytest.mark.parametrize(
    ("status", "revoke_requested", "event"),
    [
        ("active", False, AgreementEvent.CANCELLED_BY_CUSTOMER),
        ("active", True, AgreementEvent.REVOKED),
        ("revoked", False, AgreementEvent.REVOKED),
        ("revoked", True, AgreementEvent.REVOKED),
    ],
)
def test_token_canceled_confirms_our_revoke_or_means_the_customer_cancelled(status, revoke_requested, event):
    assert token_canceled_event(status, revoke_requested) == event


def test_token_canceled_after_our_revoke_is_a_late_confirmation():
    with pytest.raises(IgnoredEvent):
        AGREEMENT_MACHINE.next("revoked", token_canceled_event("revoked", revoke_requested=True))


@pytest.mark.parametrize("status", list(AgreementStatus))
def test_only_an_active_agreement_may_be_revoked_or_charged_and_every_other_says_why(status):
    why = why_not_revocable(status)
    assert (why is None) is (status is AgreementStatus.ACTIVE)
    assert why_not_chargeable(status, revoke_requested=False) == why


def test_an_active_agreement_staff_asked_to_revoke_is_not_charged_but_may_be_revoked_again():
    assert why_not_chargeable("active", revoke_requested=True) == "staff asked to revoke it"
    assert why_not_revocable("active") is None
