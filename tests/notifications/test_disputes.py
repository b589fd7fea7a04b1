"""Antom's notifyDispute through the real webhook: a payment disputed, charged back, or given back."""

from __future__ import annotations

import pytest

from dashboard import clock
from dashboard.extensions import db
from dashboard.payments.models import Payment
from dashboard.sandbox import antom as antom_simulator
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import transaction
from tests.notifications.notify_helpers import ANTOM_ACK
from tests.notifications.notify_helpers import dispute_notice
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import status_changes
from tests.notifications.notify_helpers import timeline
from tests.notifications.notify_helpers import totals


def fresh(payment_id: int) -> Payment:
    db.session.rollback()
    return db.session.get(Payment, payment_id)


def send(sandboxed, payment: Payment, kind: str, **extra) -> None:
    """POST one dispute notification for ``payment`` and apply it."""
    body = dispute_notice(kind, payment.request_id, payment.provider_payment_id, **extra)
    answer = post_antom(sandboxed.app, body)
    assert (answer.status_code, answer.get_data()) == (200, ANTOM_ACK)
    sandboxed.run_jobs()


def disputes_on(payment_id: int) -> list[dict]:
    return [event.summary for event in timeline("payment", payment_id) if event.kind == "dispute"]


def test_a_dispute_the_merchant_loses_makes_the_payment_disputed_then_charged_back(sandboxed, charge):
    payment = charge(10001)

    send(sandboxed, payment, "DISPUTE_CREATED")
    assert (fresh(payment.id).status, fresh(payment.id).result_code) == ("disputed", "DISPUTE_CREATED")
    send(sandboxed, payment, "DISPUTE_JUDGED", disputeJudgedResult="ACCEPT_BY_MERCHANT")

    payment = fresh(payment.id)
    assert (payment.status, payment.result_code) == ("charged_back", "ACCEPT_BY_MERCHANT")
    assert payment.result_message == "The customer says the service was not provided."
    assert status_changes("payment", payment.id)[-2:] == [
        ["succeeded", "disputed"],
        ["disputed", "charged_back"],
    ]
    assert [(row.kind, row.verdict, row.outcome) for row in notifications()][-2:] == [
        ("DISPUTE_CREATED", "valid", "applied"),
        ("DISPUTE_JUDGED", "valid", "applied"),
    ]
    created, judged = disputes_on(payment.id)
    assert created["stage"] == "opened" and created["defend_by"] == "2026-01-13T01:41:32+00:00"
    assert (created["amount_minor"], created["currency"]) == (10001, "HKD")
    assert judged["stage"] == "judged: the merchant is liable"
    assert totals().get("charged_back") == 1 and "succeeded" not in totals()


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("DISPUTE_JUDGED", {"disputeJudgedResult": "ACCEPT_BY_CUSTOMER"}),
        ("DISPUTE_CANCELLED", {}),
    ],
)
def test_a_dispute_won_or_withdrawn_gives_the_funds_back(sandboxed, charge, kind, extra):
    payment = charge(10001)

    send(sandboxed, payment, "DISPUTE_CREATED")
    send(sandboxed, payment, kind, **extra)

    assert fresh(payment.id).status == "settled"
    assert status_changes("payment", payment.id)[-1] == ["disputed", "settled"]


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (
            "DISPUTE_ACCEPTED",
            {"disputeAcceptReason": "TIMEOUT", "disputeAcceptTime": "2026-01-13T09:41:33+08:00"},
        ),
        ("RDR_RESOLVED", {}),
    ],
)
def test_an_accepted_or_rapidly_resolved_dispute_is_a_chargeback(sandboxed, charge, kind, extra):
    payment = charge(10001)

    send(sandboxed, payment, "DISPUTE_CREATED")
    send(sandboxed, payment, kind, **extra)

    assert fresh(payment.id).status == "charged_back"


def test_defence_steps_keep_the_payment_disputed_and_are_on_its_timeline(sandboxed, charge):
    payment = charge(10001)

    send(sandboxed, payment, "DISPUTE_CREATED")
    send(sandboxed, payment, "DEFENSE_DUE_ALERT")
    send(sandboxed, payment, "DEFENSE_SUPPLIED")

    assert fresh(payment.id).status == "disputed"
    assert [summary["stage"] for summary in disputes_on(payment.id)] == [
        "opened",
        "defence due within 24 hours",
        "defence supplied",
    ]
    assert [row.outcome for row in notifications() if row.kind.startswith(("DISPUTE", "DEFENSE"))] == [
        "applied",
        "applied",
        "applied",
    ]


def test_a_redelivered_dispute_is_a_duplicate_and_a_step_after_the_end_is_late(sandboxed, charge):
    payment = charge(10001)
    send(sandboxed, payment, "DISPUTE_CREATED")
    send(sandboxed, payment, "DISPUTE_CREATED")
    send(sandboxed, payment, "DISPUTE_ACCEPTED", disputeAcceptReason="MERCHANT_ACCEPTED")
    send(sandboxed, payment, "DEFENSE_DUE_ALERT")

    outcomes = [(row.kind, row.outcome) for row in notifications() if row.kind != "AUTHCODE_CREATED"]
    assert outcomes == [
        ("DISPUTE_CREATED", "applied"),
        ("DISPUTE_CREATED", "duplicate"),
        ("DISPUTE_ACCEPTED", "applied"),
        ("DEFENSE_DUE_ALERT", "late"),
    ]
    assert fresh(payment.id).status == "charged_back"


def test_a_dispute_about_a_payment_we_do_not_hold_is_unmatched(sandboxed):
    send_body = dispute_notice("DISPUTE_CREATED", "pay-not-ours", "2026010519401080010018880099999")

    assert post_antom(sandboxed.app, send_body).get_data() == ANTOM_ACK
    sandboxed.run_jobs()

    row = notifications()[-1]
    assert (row.kind, row.outcome, row.reference) == (
        "DISPUTE_CREATED",
        "unmatched",
        "2026010519401080010018880099999",
    )


def test_a_judgement_without_its_result_fails_for_staff_to_look_at(sandboxed, charge):
    payment = charge(10001)
    send(sandboxed, payment, "DISPUTE_CREATED")

    send(sandboxed, payment, "DISPUTE_JUDGED")

    judged = next(row for row in notifications() if row.kind == "DISPUTE_JUDGED")
    assert judged.outcome == "failed" and "disputeJudgedResult" in judged.processing_error
    assert fresh(payment.id).status == "disputed"


@pytest.mark.parametrize(
    ("course", "final"),
    [
        ("lost", "charged_back"),
        ("won", "settled"),
        ("withdrawn", "settled"),
        ("unanswered", "charged_back"),
        ("open", "disputed"),
    ],
)
def test_a_dispute_the_simulator_raises_runs_its_course_on_the_payment(sandboxed, charge, course, final):
    payment = charge(10001)
    sandbox = sandboxed.sandbox
    with transaction(sandbox.engine) as session:
        antom_simulator.raise_dispute(
            sandbox,
            session,
            payment.provider_payment_id,
            course,
            clock.now(),
            take_faults(session, "dispute"),
        )

    sandboxed.settle()

    assert fresh(payment.id).status == final
    disputes = [row for row in notifications() if row.kind.startswith(("DISPUTE", "DEFENSE"))]
    assert disputes and all((row.verdict, row.outcome) == ("valid", "applied") for row in disputes)
    assert status_changes("payment", payment.id)[1] == ["succeeded", "disputed"]
