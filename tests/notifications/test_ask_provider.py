"""Ask the provider: the inquiry for what a notification names, even when processing never linked it."""

from __future__ import annotations

import pytest

from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.notifications import service
from dashboard.notifications.models import Notification
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from tests.agreements.test_agreement_service import authorised


def stored(
    kind: str, reference: str | None, outcome: str = "failed", provider: str = "antom", **linked: str
) -> int:
    with write_transaction(db.session) as session:
        row = Notification(
            provider=provider,
            kind=kind,
            reference=reference,
            headers={},
            body=b"{}",
            verdict="valid",
            outcome=outcome,
            **linked,
        )
        session.add(row)
        session.flush()
        return row.id


def test_an_unlinked_payment_notification_is_asked_about_by_its_reference(sandboxed):
    agreement = authorised(sandboxed)
    payment = payments.charge_agreement(agreement.id, Money(10002, "HKD"), "June plan")
    sandboxed.deliver()  # the simulator settles it; its notification waits for the apply job
    notification_id = stored("PAYMENT_RESULT", payment.provider_payment_id)

    answer = service.ask_provider(notification_id)

    assert answer == f"Payment {payment.id}: succeeded."
    db.session.rollback()
    assert db.session.get(Payment, payment.id).status == "succeeded"


def test_a_notification_naming_nothing_we_know_says_so(sandboxed):
    notification_id = stored("authorized", "wp-unknown", outcome="unmatched", provider="worldpay")

    assert (
        service.ask_provider(notification_id)
        == "This notification names nothing the provider can be asked about."
    )


def test_an_applied_or_late_notification_is_not_reprocessed(sandboxed):
    for outcome, said in (("applied", "processed"), ("late", "late")):  # as the inbox says them
        notification_id = stored("PAYMENT_RESULT", "pay-1", outcome=outcome)
        with pytest.raises(service.ReprocessRefused, match=f"it was {said} already"):
            service.reprocess(notification_id)


def test_a_refund_notification_that_only_confirmed_its_refund_is_asked_about_the_refund(sandboxed):
    agreement = authorised(sandboxed)
    payment = payments.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    refund = payments.refund_payment(payment.id, Money(1001, "HKD"), None, payments.new_refund_request_id())
    sandboxed.settle()  # Antom finishes the refund; its notification is applied
    refund = db.session.get(Refund, refund.id)
    assert refund.status == "succeeded" and refund.provider_refund_id
    # A redelivered result applied as a confirmation: linked to the payment, it changed nothing.
    notification_id = stored(
        "REFUND_RESULT",
        refund.provider_refund_id,
        outcome="applied",
        object_type="payment",
        object_id=str(payment.id),
    )

    assert service.ask_provider(notification_id) == f"Refund {refund.id}: succeeded."
