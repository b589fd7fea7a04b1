"""Every HK ACH code a batch or payee can carry has guidance for finance staff, through the registry."""

from __future__ import annotations

from dashboard.providers.hkach import PaymentStatus
from dashboard.providers.registry import guidance
from dashboard.sandbox.hkach import EVENT_CODES
from dashboard.sandbox.hkach import ITEM_REASONS

#: hkach_contract.md §6, as listed there.
CONTRACT_EVENT_CODES = [f"EC004_{n}" for n in (*range(101, 111), *range(201, 206), *range(301, 307))] + [
    f"EC000_00{n}" for n in range(1, 8)
]
CONTRACT_REASONS = [
    "AC01",
    "AC03",
    "AC04",
    "AC06",
    "AC07",
    "AG01",
    "AM02",
    "AM03",
    "AM04",
    "AM05",
    "BE01",
    "BE06",
    "DT01",
    "RC08",
    "TM01",
    "NARR",
    "TD03",
    "DT02",
    "BC01",
    "AM10",
    "AM18",
    "AC02",
    "TC01",
    "DU02",
    "CH16",
    "DU05",
    "BE22",
]


def test_every_code_in_the_contract_and_the_simulator_has_a_meaning_and_a_next_step():
    codes = {*CONTRACT_EVENT_CODES, *CONTRACT_REASONS, *PaymentStatus, *EVENT_CODES, *ITEM_REASONS}
    codes |= {reason for reason, _ in EVENT_CODES.values()}
    missing = sorted(code for code in codes if guidance("hkach", str(code)) is None)
    assert missing == []
    assert all(
        guidance("hkach", str(code)).meaning and guidance("hkach", str(code)).next_step for code in codes
    )


def test_staff_are_asked_to_act_on_rejections_not_on_progress():
    assert not guidance("hkach", "PDNG").act and not guidance("hkach", "ACSC").act
    assert guidance("hkach", "PART").act and "new batch" in guidance("hkach", "PART").next_step
    assert "account name" in guidance("hkach", "BE01").next_step
    assert "Do not pay again" in guidance("hkach", "EC004_102").next_step
