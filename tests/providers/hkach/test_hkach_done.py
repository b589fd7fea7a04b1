"""The issue's "done when", as finance would do it from a Python shell in the app context: submit
a 3-item batch to the sandbox, lose the answer, resubmit by the rule, poll it to PART with one
AC03 item, and the bank holds and pays the batch once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dashboard.money import Money
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.hkach import BatchStatus
from dashboard.providers.hkach import PaymentStatus
from dashboard.providers.hkach import new_message_id
from dashboard.providers.hkach.settings import from_app
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import HkachBatch
from dashboard.sandbox.store import transaction
from tests.sandbox.hkach_helpers import batch
from tests.sandbox.hkach_helpers import transfer


def held_by_the_bank(sandbox) -> list[HkachBatch]:
    with sandbox.sandbox.engine.connect() as connection:
        return list(connection.execute(select(HkachBatch)).all())


def test_a_payroll_batch_lost_in_transit_is_paid_once_with_one_ac03_item(sandbox, fake_clock):
    payroll = batch(
        transfer(1, amount=Money(2500000, "HKD")),
        transfer(2, account_number="987654000", amount=Money(1800000, "HKD")),
        transfer(3, amount=Money(3100050, "HKD")),
        batch_id="PAYROLL-2026-01",
    )
    message_id = new_message_id()  # made and stored by the caller before sending
    with sandbox.app.app_context():
        client = from_app(read_timeout=0.5)
        client.access_token()
        with transaction(sandbox.sandbox.engine) as session:
            add_switch(session, "timeout", operation="hkach_submit", remaining=1)
        with pytest.raises(ProviderUnavailable):
            client.submit(payroll, message_id)

        after = client.resubmit_if_never_received(payroll, message_id)
        assert isinstance(after, BatchStatus) and after.processing

        polls = []
        while not polls or polls[-1].processing:
            fake_clock.advance(seconds=0.05)
            polls.append(client.status(message_id))
        again = client.resubmit_if_never_received(payroll, message_id)

    S = PaymentStatus
    assert [poll.group_status for poll in polls] == [
        S.RECEIVED,
        S.TECHNICALLY_ACCEPTED,
        S.PENDING,
        S.PARTIALLY_ACCEPTED,
    ]
    final = polls[-1]
    assert [(item.instruction_id, item.status, item.reason_code) for item in final.items] == [
        ("INS-1", S.SETTLED, None),
        ("INS-2", S.REJECTED, "AC03"),
        ("INS-3", S.SETTLED, None),
    ]
    assert isinstance(again, BatchStatus) and again.group_status is S.PARTIALLY_ACCEPTED
    (held,) = held_by_the_bank(sandbox)
    items = json.loads(held.items)
    assert (held.message_id, held.batch_id) == (message_id, "PAYROLL-2026-01")
    assert [(item["instruction_id"], item["amount"]) for item in items] == [
        ("INS-1", "25000.00"),
        ("INS-2", "18000.00"),
        ("INS-3", "31000.50"),
    ]
