"""HK ACH after a lost answer: ask the status first, resubmit under the same id only after a 404,
so a batch is paid once; the simulator's faults and rate limits as the client sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.hkach import BatchStatus
from dashboard.providers.hkach import HkachRateLimited
from dashboard.providers.hkach import PaymentStatus
from dashboard.providers.hkach import SubmitResult
from dashboard.providers.hkach import new_message_id
from dashboard.providers.hkach.settings import from_app
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import HkachBatch
from dashboard.sandbox.store import transaction
from tests.sandbox.hkach_helpers import batch
from tests.sandbox.hkach_helpers import transfer


def switch(sandbox, fault: str, operation: str) -> None:
    with transaction(sandbox.sandbox.engine) as session:
        add_switch(session, fault, operation=operation, remaining=1)


def batches_received(sandbox) -> int:
    with sandbox.sandbox.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(HkachBatch))


@pytest.mark.parametrize("fault", ["timeout", "http_500", "malformed_json"])
def test_a_submit_processed_but_unanswered_is_not_sent_again(sandbox, fake_clock, fault):
    client = from_app(sandbox.app, read_timeout=0.5)
    client.access_token()
    paid, message_id = batch(transfer(1), transfer(2, account_number="111000"), transfer(3)), new_message_id()
    switch(sandbox, fault, "hkach_submit")
    with pytest.raises(ProviderUnavailable):
        client.submit(paid, message_id)
    after = client.resubmit_if_never_received(paid, message_id)
    assert isinstance(after, BatchStatus) and after.processing
    assert batches_received(sandbox) == 1
    fake_clock.advance(seconds=1)
    final = client.status(message_id)
    assert final.group_status is PaymentStatus.PARTIALLY_ACCEPTED and len(final.items) == 3


def test_a_submit_refused_unprocessed_is_sent_again_under_the_same_id(sandbox, hkach, fake_clock):
    paid, message_id = batch(), new_message_id()
    hkach.access_token()
    switch(sandbox, "http_503", "hkach_submit")
    with pytest.raises(ProviderUnavailable) as lost:
        hkach.submit(paid, message_id)
    assert lost.value.record.status == 503 and batches_received(sandbox) == 0
    again = hkach.resubmit_if_never_received(paid, message_id)
    assert (
        isinstance(again, SubmitResult)
        and again.message_id == message_id
        and again.transaction_status == "RCVD"
    )
    assert batches_received(sandbox) == 1
    # Asked again (say, by a second worker): the bank has it, nothing more is sent.
    assert isinstance(hkach.resubmit_if_never_received(paid, message_id), BatchStatus)
    assert batches_received(sandbox) == 1


def test_a_429_beyond_the_wait_budget_is_typed_with_its_wait(sandbox):
    client = from_app(sandbox.app, max_rate_limit_wait=0.5)
    client.access_token()
    switch(sandbox, "http_429", "hkach_status")
    with pytest.raises(HkachRateLimited) as limited:
        client.status(new_message_id())
    assert limited.value.retry_after == 1.0 and limited.value.record.status == 429
    assert client.status(new_message_id()).never_received


@pytest.mark.parametrize("operation", ["hkach_auth", "hkach_submit", "hkach_status"])
def test_a_429_is_waited_out_and_the_call_repeated(sandbox, fake_clock, operation):
    waits: list[float] = []
    client = from_app(sandbox.app, sleep=waits.append)
    paid, message_id = batch(), new_message_id()
    switch(sandbox, "http_429", operation)
    sent = client.submit(paid, message_id)
    assert sent.transaction_status == "RCVD" and sent.message_id == message_id
    fake_clock.advance(seconds=1)
    assert client.status(message_id).group_status is PaymentStatus.SETTLED
    assert waits == [1.0] and batches_received(sandbox) == 1


def test_the_429_wait_budget_is_a_setting(sandbox, monkeypatch):
    monkeypatch.setitem(sandbox.app.config, "HKACH_MAX_RATE_LIMIT_WAIT", 0.0)
    waits: list[float] = []
    client = from_app(sandbox.app, sleep=waits.append)
    switch(sandbox, "http_429", "hkach_auth")
    with pytest.raises(HkachRateLimited):
        client.access_token()
    assert waits == []


def test_the_bank_allows_ten_tokens_an_hour(sandbox, fake_clock, monkeypatch):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_RATE_LIMITS", True)
    for _ in range(10):
        from_app(sandbox.app).access_token()
        fake_clock.advance(seconds=1)
    with pytest.raises(HkachRateLimited) as limited:
        from_app(sandbox.app).access_token()
    assert 3500 <= limited.value.retry_after <= 3600
    fake_clock.advance(hours=1)
    assert from_app(sandbox.app).access_token()


def test_the_bank_allows_thirty_submits_a_minute(sandbox, hkach, fake_clock, monkeypatch):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_RATE_LIMITS", True)
    for number in range(30):
        hkach.submit(batch(batch_id=f"B{number}"), new_message_id())
        fake_clock.advance(seconds=0.5)
    with pytest.raises(HkachRateLimited):
        hkach.submit(batch(batch_id="B30"), new_message_id())
    assert batches_received(sandbox) == 30


def test_the_bank_allows_two_calls_a_second(sandbox, fake_clock, monkeypatch):
    client = from_app(sandbox.app, max_rate_limit_wait=0)
    client.access_token()
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_RATE_LIMITS", True)
    client.status(new_message_id())
    client.status(new_message_id())
    with pytest.raises(HkachRateLimited) as limited:
        client.status(new_message_id())
    assert limited.value.retry_after == 1.0
    fake_clock.advance(seconds=1)
    assert client.status(new_message_id()).never_received


def test_polling_faster_than_the_bank_allows_waits_its_turn(sandbox, fake_clock, monkeypatch):
    waits: list[float] = []
    client = from_app(
        sandbox.app, sleep=lambda seconds: (waits.append(seconds), fake_clock.advance(seconds=seconds))
    )
    client.access_token()
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_RATE_LIMITS", True)
    assert all(client.status(new_message_id()).never_received for _ in range(5))
    assert waits == [1.0, 1.0]
