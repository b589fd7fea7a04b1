"""The provider step: the row is committed before the call, no transaction is open during it, and
the answer is committed with the call's record on the row's timeline (DESIGN §3, §9)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.provider_step import provider_step
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import CallRecord
from dashboard.providers.base import ProviderResult
from dashboard.providers.base import ProviderUnavailable
from tests.factories import make_payment
from tests.factories import make_refund

RECORD = CallRecord("antom", "pay", "POST", "/ams/api/v1/payments/pay", datetime(2026, 1, 5, tzinfo=UTC), 12)


@pytest.fixture
def committed(app, live_db):
    """An app context whose writes really commit, with a payment and one of its refunds."""
    with app.test_request_context():
        payment = make_payment(db.session, status="succeeded")
        refund = make_refund(db.session, payment)
        db.session.commit()
        yield payment.id, refund.id
        db.session.remove()


def provider_calls(payment_id: int) -> list[dict]:
    return [
        event.summary
        for event in db.session.scalars(
            select(Event).where(Event.object_id == str(payment_id), Event.kind == "provider_call")
        )
    ]


def test_the_call_runs_with_no_transaction_open_and_the_answer_is_committed_with_its_record(committed, app):
    payment_id, _ = committed
    seen = {}

    def send() -> ProviderResult:
        seen["in_transaction"] = db.session().in_transaction()
        with db.engine.connect() as other:  # another connection sees what was committed before
            seen["status_elsewhere"] = other.scalar(select(Payment.status).where(Payment.id == payment_id))
        return ProviderResult(CallOutcome.SUCCEEDED, RECORD, "SUCCESS", "ok")

    def decide(session, payment, call):
        payment.result_code = call.code
        return (call.outcome, call.message, payment.id)

    answer = provider_step(Payment, payment_id, lambda payment: send, decide)

    assert answer == (CallOutcome.SUCCEEDED, "ok", payment_id)
    assert seen == {"in_transaction": False, "status_elsewhere": "succeeded"}
    db.session.rollback()
    assert db.session.get(Payment, payment_id).result_code == "SUCCESS"
    [call] = provider_calls(payment_id)
    assert (call["operation"], call["status"], call["outcome"]) == ("pay", None, "S")


def test_an_unknown_answer_is_a_value_with_its_record_on_the_owner_s_timeline(committed):
    payment_id, refund_id = committed

    def send():
        raise ProviderUnavailable("no answer in time", record=RECORD, code="TIMEOUT")

    def decide(session, refund, call):
        return (call.result, call.outcome, call.code, call.message)

    answer = provider_step(Refund, refund_id, lambda refund: send, decide)

    assert answer == (None, CallOutcome.UNKNOWN, "TIMEOUT", "no answer in time")
    db.session.rollback()
    [call] = provider_calls(payment_id)  # a refund's calls go on its payment's timeline
    assert (call["outcome"], call["refund_id"]) == ("U", refund_id)


def test_nothing_to_send_sends_nothing_and_records_nothing(committed):
    payment_id, _ = committed
    decided = []

    answer = provider_step(
        Payment,
        payment_id,
        lambda payment: None,
        lambda *args: decided.append(args),
        unsent=lambda p: p.status,
    )

    assert (answer, decided) == ("succeeded", [])
    assert provider_calls(payment_id) == []
    assert provider_step(Payment, 999_999, lambda p: None, None, unsent=lambda p: p) is None


def test_a_decision_that_breaks_undoes_itself_but_keeps_the_call_s_record(committed):
    payment_id, _ = committed

    def decide(session, payment, call):
        payment.result_code = "HALF-DONE"
        raise RuntimeError("the decision broke")

    with pytest.raises(RuntimeError, match="the decision broke"):
        provider_step(
            Payment,
            payment_id,
            lambda payment: lambda: ProviderResult(CallOutcome.FAILED, RECORD, "REFUSED"),
            decide,
        )

    db.session.rollback()
    assert db.session.get(Payment, payment_id).result_code is None
    [call] = provider_calls(payment_id)  # the provider did answer: that stays on the timeline
    assert call["outcome"] == "F"
