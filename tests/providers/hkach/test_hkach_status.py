"""HK ACH status against the simulator over real HTTP: a batch's course on the compressed clock,
item statuses with reason codes, every deterministic outcome, 404, and the seed's reading."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import requests

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.hkach import PaymentStatus
from dashboard.providers.hkach import new_message_id
from tests.sandbox.hkach_helpers import batch
from tests.sandbox.hkach_helpers import transfer

S = PaymentStatus


def submitted(hkach, paid) -> str:
    message_id = new_message_id()
    hkach.submit(paid, message_id)
    return message_id


def test_a_batch_moves_rcvd_actc_pdng_then_part_with_one_ac03_item(sandbox, hkach, fake_clock):
    message_id = submitted(hkach, batch(transfer(1), transfer(2, account_number="111222000"), transfer(3)))
    seen = []
    for _ in range(4):
        status = hkach.status(message_id)
        seen.append((status.group_status, {item.status for item in status.items}))
        fake_clock.advance(seconds=0.061)
    assert seen == [
        (S.RECEIVED, {S.RECEIVED}),
        (S.TECHNICALLY_ACCEPTED, {S.TECHNICALLY_ACCEPTED}),
        (S.PENDING, {S.PENDING}),
        (S.PARTIALLY_ACCEPTED, {S.SETTLED, S.REJECTED}),
    ]
    final = hkach.status(message_id)
    assert (
        final.outcome is CallOutcome.SUCCEEDED
        and not final.processing
        and final.batch_id == "PAYROLL-2026-01"
    )
    (rejected,) = final.rejected_items
    assert (rejected.instruction_id, rejected.end_to_end_id, rejected.reason_code) == (
        "INS-2",
        "EMP-2",
        "AC03",
    )
    assert rejected.additional_information == ("Invalid creditor account number",)
    assert all(item.accepted_at for item in final.items if item.status is S.SETTLED)
    assert final.record.status == 200 and final.record.operation == "status"


def test_while_processing_the_outcome_is_unknown(sandbox, hkach):
    status = hkach.status(submitted(hkach, batch()))
    assert status.processing and status.outcome is CallOutcome.UNKNOWN


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"account_number": "123000"}, "AC03"),
        ({"account_number": "555404"}, "AC04"),
        ({"account_number": "555406"}, "AC06"),
        ({"creditor_name": "Chan Mismatch Tai Man"}, "BE01"),
        ({"bank_code": "999"}, "RC08"),
    ],
)
def test_each_item_trigger_rejects_that_item_only(sandbox, hkach, fake_clock, changes, reason):
    message_id = submitted(hkach, batch(transfer(1), transfer(2, **changes)))
    fake_clock.advance(seconds=1)
    status = hkach.status(message_id)
    assert status.group_status is S.PARTIALLY_ACCEPTED
    assert [(i.status, i.reason_code) for i in status.items] == [(S.SETTLED, None), (S.REJECTED, reason)]


def test_every_item_rejected_rejects_the_batch(sandbox, hkach, fake_clock):
    message_id = submitted(hkach, batch(transfer(1, account_number="1000")))
    fake_clock.advance(seconds=1)
    status = hkach.status(message_id)
    assert status.group_status is S.REJECTED and status.outcome is CallOutcome.FAILED


def test_all_good_items_settle(sandbox, hkach, fake_clock):
    message_id = submitted(hkach, batch())
    fake_clock.advance(seconds=1)
    status = hkach.status(message_id)
    assert status.group_status is S.SETTLED and {i.status for i in status.items} == {S.SETTLED}


@pytest.mark.parametrize(
    ("moment", "paid", "reason", "text"),
    [
        (
            None,
            batch(transfer(1), transfer(2, amount=Money(1313, "HKD"))),
            "NARR",
            "(AM04) Insufficient funds",
        ),
        (None, batch(value_date=date(2026, 1, 4)), "DT01", "Invalid value date"),  # a Sunday (and past)
        (None, batch(value_date=date(2026, 1, 11)), "DT01", "Invalid value date"),  # a Sunday ahead
        (None, batch(value_date=date(2026, 5, 1)), "DT01", "Invalid value date"),  # Labour Day
        (datetime(2026, 1, 5, 9, 56, tzinfo=UTC), batch(), "TM01", "Received after the 17:55 HKT cut-off"),
    ],
)
def test_batch_triggers_reject_the_whole_batch(sandbox, hkach, fake_clock, moment, paid, reason, text):
    if moment is not None:
        fake_clock.set(moment)
    message_id = submitted(hkach, paid)
    fake_clock.advance(seconds=1)
    status = hkach.status(message_id)
    assert (status.group_status, status.reason_code) == (S.REJECTED, reason)
    assert status.additional_information[0].startswith(text)
    assert {item.status for item in status.items} == {S.REJECTED}


@pytest.mark.parametrize(
    ("value_date", "reason"),
    [
        (date(2026, 2, 18), "DT01"),  # the second day of Chinese New Year (lunar)
        (date(2026, 4, 3), "DT01"),  # Good Friday
        (date(2026, 4, 4), "DT01"),  # the day following Good Friday, a Saturday
        (date(2026, 4, 7), "DT01"),  # Ching Ming falls on Easter Sunday: the substitute day
        (date(2026, 5, 25), "DT01"),  # Buddha's Birthday falls on a Sunday: the substitute day
        (date(2026, 2, 20), None),  # the Friday after the New Year holidays settles
    ],
)
def test_hong_kong_public_holidays_are_no_value_date(sandbox, hkach, fake_clock, value_date, reason):
    message_id = submitted(hkach, batch(value_date=value_date))
    fake_clock.advance(days=150)
    assert hkach.status(message_id).reason_code == reason


def test_an_extra_closure_day_is_no_value_date(sandbox, hkach, fake_clock, monkeypatch):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_HOLIDAYS", "2026-03-16, 2026-03-17")
    closed = submitted(hkach, batch(value_date=date(2026, 3, 17), batch_id="CLOSED"))
    open_day = submitted(hkach, batch(value_date=date(2026, 3, 18), batch_id="OPEN"))
    fake_clock.advance(days=90)
    assert hkach.status(closed).reason_code == "DT01"
    assert hkach.status(open_day).group_status is S.SETTLED


def test_a_value_date_ahead_settles_only_then_on_the_compressed_clock(sandbox, hkach, fake_clock):
    message_id = submitted(hkach, batch(value_date=date(2026, 1, 10)))  # a Saturday, five days ahead
    fake_clock.advance(seconds=1)
    assert hkach.status(message_id).group_status is S.PENDING
    fake_clock.advance(seconds=6 * 24 * 3600 * 0.001)
    assert hkach.status(message_id).group_status is S.SETTLED


def test_an_unknown_message_id_was_never_received(sandbox, hkach):
    status = hkach.status(new_message_id())
    assert status.never_received and status.record.status == 404 and status.outcome is CallOutcome.UNKNOWN


def test_seed_mode_answers_202_then_the_report_with_200_or_400(sandbox, hkach, fake_clock, monkeypatch):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_SEED_MODE", True)
    good = new_message_id()
    answer = hkach.submit(batch(), good)
    assert answer.record.status == 202 and answer.transaction_status == "RCVD"
    bad = submitted(hkach, batch(transfer(1, account_number="1000"), batch_id="PAYROLL-B"))
    pending = hkach.status(good)
    assert pending.record.status == 202 and pending.processing
    fake_clock.advance(seconds=1)
    settled, rejected = hkach.status(good), hkach.status(bad)
    assert (settled.record.status, settled.group_status) == (200, S.SETTLED)
    assert (rejected.record.status, rejected.group_status) == (400, S.REJECTED)
    assert rejected.items[0].reason_code == "AC03" and rejected.outcome is CallOutcome.FAILED


def test_the_sandbox_page_shows_each_batch_as_it_stands_and_offers_its_fault_switches(
    sandbox, hkach, fake_clock
):
    message_id = submitted(hkach, batch(transfer(1), transfer(2, account_number="9000")))
    page = requests.get(f"{sandbox.url}/sandbox/", timeout=5).text
    assert message_id in page and "<td>RCVD</td>" in page and 'value="hkach_submit"' in page
    fake_clock.advance(seconds=1)
    page = requests.get(f"{sandbox.url}/sandbox/", timeout=5).text
    assert "<td>PART</td>" in page
