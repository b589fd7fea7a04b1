"""Refund rules staff meet before money moves: thresholds, four-eyes approval, the refund window,
the eligibility preview and the cancel window — through the services and the Antom simulator."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard.approvals.kinds import ApprovalRefused
from dashboard.approvals.service import decide
from dashboard.approvals.service import waiting
from dashboard.approvals.service import waiting_count
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.payments.changes import DuplicateCancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.refunds import approve_refund
from dashboard.payments.refunds import needs_approval
from dashboard.payments.refunds import refund_eligibility
from dashboard.payments.refunds import reject_refund
from dashboard.payments.states import NotRefundable
from dashboard.users import service as users
from tests.agreements.test_agreement_service import authorised
from tests.conftest import TEST_PASSWORD


def staff(role: str, name: str) -> int:
    email = f"{name.lower()}@staff.example"
    return users.create_user(email, name, role, TEST_PASSWORD, must_change_password=False).id


@pytest.fixture
def people(sandboxed) -> dict[str, int]:
    return {
        "support": staff("support", "Sam"),
        "manager": staff("manager", "Mei"),
        "other_manager": staff("manager", "Max"),
    }


@pytest.fixture
def paid(sandboxed) -> Payment:
    """An Auto Debit of HK$8,000.01 that Antom took at once (amounts ending 01 succeed)."""
    agreement = authorised(sandboxed)
    payment = service.charge_agreement(agreement.id, Money(800001, "HKD"), "Sofa")
    assert payment.status == "succeeded"
    return payment


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


def eligibility(payment_id: int):
    return refund_eligibility(db.session, fresh(Payment, payment_id))


def refund_calls(payment_id: int) -> int:
    return sum(
        1
        for summary in db.session.scalars(
            select(Event.summary).where(
                Event.object_type == "payment",
                Event.object_id == str(payment_id),
                Event.kind == "provider_call",
            )
        )
        if summary.get("operation") == "refund"
    )


def audited(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.seq)))


# --- thresholds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "waits"),
    [
        (Money(499999, "HKD"), False),  # HK$4,999.99: below HKD:5000.00
        (Money(500000, "HKD"), True),  # at the threshold
        (Money(69999, "USD"), False),
        (Money(70000, "USD"), True),
        (Money(1, "JPY"), True),  # a currency without a threshold always waits
    ],
)
def test_refunds_from_the_currency_s_threshold_wait_for_approval(app_ctx, amount, waits):
    assert needs_approval(amount) is waits


def test_the_thresholds_come_from_the_setting(app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "REFUND_APPROVAL_THRESHOLDS", {"HKD": 10000})
    assert needs_approval(Money(9999, "HKD")) is False
    assert needs_approval(Money(10000, "HKD")) is True
    assert needs_approval(Money(1, "USD")) is True


def test_a_refund_below_the_threshold_is_sent_at_once(sandboxed, paid, people):
    refund = service.refund_payment(
        paid.id, Money(499901, "HKD"), "Goodwill", service.new_refund_request_id(), actor_id=people["support"]
    )

    assert refund.status == "succeeded"
    assert refund_calls(paid.id) == 1
    assert waiting(db.session) == []


def test_a_refund_at_the_threshold_waits_sends_nothing_and_holds_its_amount(sandboxed, paid, people):
    refund = service.refund_payment(
        paid.id,
        Money(500001, "HKD"),
        "Product not delivered",
        service.new_refund_request_id(),
        note="Courier lost it",
        actor_id=people["support"],
    )

    assert (refund.status, refund.note, refund.requested_by_id) == (
        "awaiting_approval",
        "Courier lost it",
        people["support"],
    )
    assert refund_calls(paid.id) == 0
    preview = eligibility(paid.id)
    assert (preview.refundable, preview.in_flight) == (Money(300000, "HKD"), Money(500001, "HKD"))
    assert [r.id for r in preview.open_refunds] == [refund.id]
    [item] = waiting(db.session)
    assert (item.kind, item.id, item.amount, item.requested_by_id) == (
        "refund",
        refund.id,
        Money(500001, "HKD"),
        people["support"],
    )
    assert item.summary == ("Refund HK$5,000.01 of HK$8,000.01 to the customer's AlipayHK wallet via Antom.")
    assert (item.reason, item.note) == ("Product not delivered", "Courier lost it")
    assert waiting_count(db.session) == 1


# --- four eyes ----------------------------------------------------------------------------------


@pytest.fixture
def awaiting(sandboxed, paid, people) -> Refund:
    return service.refund_payment(
        paid.id, Money(500001, "HKD"), "Goodwill", service.new_refund_request_id(), actor_id=people["manager"]
    )


def test_another_manager_approves_and_the_refund_is_sent(sandboxed, awaiting, people):
    message, category = decide(
        "refund", awaiting.id, approve=True, actor_id=people["other_manager"], comment="Checked"
    )

    refund = fresh(Refund, awaiting.id)
    assert (refund.status, refund.approved_by_id, refund.decision_comment) == (
        "succeeded",
        people["other_manager"],
        "Checked",
    )
    assert refund.decided_at is not None
    assert (message, category) == ("Refunded HK$5,000.01 to the customer via Antom.", "success")
    assert refund_calls(refund.payment_id) == 1
    [entry] = audited("payment.refund_approved")
    assert entry.object_id == str(refund.payment_id) and entry.after["comment"] == "Checked"
    assert waiting_count(db.session) == 0


def test_nobody_approves_or_rejects_their_own_refund(sandboxed, awaiting, people):
    for decision in (approve_refund, reject_refund):
        with pytest.raises(ApprovalRefused, match="another manager must decide"):
            decision(awaiting.id, actor_id=people["manager"], comment=None)

    assert fresh(Refund, awaiting.id).status == "awaiting_approval"
    assert refund_calls(awaiting.payment_id) == 0


def test_a_rejected_refund_ends_sends_nothing_and_frees_its_amount(sandboxed, awaiting, people):
    message, _ = decide(
        "refund", awaiting.id, approve=False, actor_id=people["other_manager"], comment="Not ours"
    )

    refund = fresh(Refund, awaiting.id)
    assert (refund.status, refund.rejected_by_id, refund.decision_comment) == (
        "rejected",
        people["other_manager"],
        "Not ours",
    )
    assert message == "Rejected the refund of HK$5,000.01; nothing was sent."
    assert refund_calls(refund.payment_id) == 0
    assert eligibility(refund.payment_id).refundable == Money(800001, "HKD")
    [entry] = audited("payment.refund_rejected")
    assert entry.after["comment"] == "Not ours"


def test_a_decided_refund_cannot_be_decided_again(sandboxed, awaiting, people):
    approve_refund(awaiting.id, actor_id=people["other_manager"])

    with pytest.raises(ApprovalRefused, match="succeeded already"):
        approve_refund(awaiting.id, actor_id=people["other_manager"])
    with pytest.raises(ApprovalRefused, match="succeeded already"):
        reject_refund(awaiting.id, actor_id=people["other_manager"])
    assert refund_calls(awaiting.payment_id) == 1


def test_an_approval_that_cannot_be_sent_any_more_fails_clearly_and_is_audited(
    sandboxed, awaiting, people, fake_clock
):
    fake_clock.advance(timedelta(days=366))  # past Antom's refund window (ANTOM_REFUND_WINDOW_DAYS)

    with pytest.raises(ApprovalRefused, match="refund window is over"):
        approve_refund(awaiting.id, actor_id=people["other_manager"], comment="Late")

    assert fresh(Refund, awaiting.id).status == "awaiting_approval"
    assert refund_calls(awaiting.payment_id) == 0
    [entry] = audited("payment.refund_approval_failed")
    assert "refund window is over" in entry.after["why"]


def test_an_unknown_kind_of_approval_is_refused(sandboxed, people):
    with pytest.raises(ApprovalRefused, match="no bonus approvals"):
        decide("bonus", 1, approve=True, actor_id=people["manager"], comment=None)


# --- the preview, the refund window and the cancel window ---------------------------------------


def test_the_preview_counts_the_refund_window_down(sandboxed, paid, fake_clock):
    assert eligibility(paid.id).days_left == 365
    fake_clock.advance(timedelta(days=300))
    assert eligibility(paid.id).days_left == 65

    fake_clock.advance(timedelta(days=66))
    preview = eligibility(paid.id)
    assert preview.refundable == Money(0, "HKD")
    assert "refund window is over" in preview.why_not
    with pytest.raises(NotRefundable, match="refund window is over"):
        service.refund_payment(paid.id, Money(101, "HKD"), None, service.new_refund_request_id())


def test_the_preview_says_why_a_failed_payment_cannot_be_refunded(sandboxed):
    agreement = authorised(sandboxed)
    failed = service.charge_agreement(agreement.id, Money(10036, "HKD"), "Plan")  # 36: token refused

    assert failed.status == "failed"
    preview = eligibility(failed.id)
    assert (preview.refundable, preview.why_not) == (
        Money(0, "HKD"),
        "a failed payment holds no money to refund",
    )


def test_antom_takes_a_cancel_until_00_15_hong_kong_time_the_next_day(sandboxed, fake_clock):
    fake_clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Hong Kong
    agreement = authorised(sandboxed)
    late = service.charge_agreement(agreement.id, Money(10001, "HKD"), "Plan")
    on_time = service.charge_agreement(agreement.id, Money(20001, "HKD"), "Plan")

    fake_clock.set(datetime(2026, 3, 2, 16, 14, tzinfo=UTC))  # 00:14 the next day
    assert service.cancel_payment(on_time.id, "cx-on-time", "Duplicate").status == "succeeded"
    fake_clock.set(datetime(2026, 3, 2, 16, 15, tzinfo=UTC))  # 00:15
    with pytest.raises(service.CancelRefused, match="cancel window"):
        service.cancel_payment(late.id, "cx-late", "Duplicate")


def test_a_cancel_request_id_is_used_once(sandboxed):
    agreement = authorised(sandboxed)
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "Plan")
    service.cancel_payment(paid.id, "cx-once", "Duplicate")

    with pytest.raises(DuplicateCancel):
        service.cancel_payment(paid.id, "cx-once", "Duplicate")
