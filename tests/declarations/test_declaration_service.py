"""Declarations through the real services, the Antom simulator over HTTP and the jobs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.declarations import service
from dashboard.declarations.models import Declaration
from dashboard.declarations.states import DeclarationRefused
from dashboard.declarations.states import DuplicateDeclaration
from dashboard.declarations.tasks import sweep_open_declarations
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import Declaration as SimulatedDeclaration
from dashboard.sandbox.store import transaction
from tests.sandbox import helpers

MERCHANT = ("4403960ABC", "Harbour Goods Ltd")


def authorised(sandboxed, wallet: str) -> Agreement:
    agreement = agreements.start_consult(wallet, f"cust-{wallet.lower()}")
    assert helpers.answer_consent(agreement.auth_url).status_code == 303
    sandboxed.settle()
    return db.session.get(Agreement, agreement.id)


def paid(sandboxed, wallet: str = "ALIPAY_CN", minor: int = 10001) -> Payment:
    payment = payments.charge_agreement(authorised(sandboxed, wallet).id, Money(minor, "HKD"), "Milk powder")
    sandboxed.settle()
    assert payment.status == "succeeded"
    return payment


def declare(payment: Payment, minor: int = 10001, customs: str = "ZONGSHU", request_id: str | None = None):
    return service.declare_payment(
        payment.id,
        request_id or service.new_declaration_request_id(),
        customs,
        *MERCHANT,
        Money(minor, payment.currency),
    )


def fresh(declaration_id: int) -> Declaration:
    db.session.rollback()
    return db.session.get(Declaration, declaration_id)


def kinds(payment_id: int) -> list[str]:
    statement = (
        select(Event.kind)
        .where(Event.object_type == "payment", Event.object_id == str(payment_id))
        .order_by(Event.id)
    )
    return [
        kind for kind in db.session.scalars(statement) if "declaration" in kind or kind == "provider_call"
    ]


def audited(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def simulated() -> int:
    from dashboard.sandbox.core import get_sandbox

    with transaction(get_sandbox().engine) as session:
        return len(session.scalars(select(SimulatedDeclaration)).all())


def test_a_paid_payment_is_declared_and_customs_answer_by_the_job(sandboxed):
    payment = paid(sandboxed)
    declared = declare(payment, 9000)

    assert declared.status == "submitted"
    assert declared.provider_declaration_id and declared.customs_order_id == payment.request_id
    assert (declared.amount, declared.customs_code, declared.customs_region) == (
        Money(9000, "HKD"),
        "ZONGSHU",
        "CN",
    )
    assert len(audited("payment.declaration_requested")) == 1
    sandboxed.run_jobs(scheduled=True)  # customs answer at once on the tests' clock

    declared = fresh(declared.id)
    assert (declared.status, declared.result_code) == ("declared", "2")
    assert declared.customs_answered_at is not None
    assert kinds(payment.id)[-5:] == [
        "declaration_requested",
        "provider_call",
        "declaration_status_changed",
        "provider_call",
        "declaration_status_changed",
    ]


def test_customs_rejection_is_kept_with_their_answer_and_audited(sandboxed):
    declared = declare(paid(sandboxed), 4599)
    sandboxed.run_jobs(scheduled=True)

    declared = fresh(declared.id)
    assert (declared.status, declared.result_code) == ("rejected", "100")
    assert declared.result_message and audited("payment.declaration_rejected")


def test_a_wallet_that_cannot_be_declared_is_refused_by_antom_with_its_code(sandboxed):
    declared = declare(paid(sandboxed, "ALIPAY_HK"))

    assert (declared.status, declared.result_code) == ("refused", "PAYMENT_METHOD_NOT_SUPPORTED")
    assert declared.result_message and declared.provider_declaration_id is None
    [entry] = audited("payment.declaration_refused")
    assert entry.object_id == str(declared.payment_id)
    text, tone = service.declaration_result(declared)
    assert tone == "error" and "PAYMENT_METHOD_NOT_SUPPORTED" in text and "Alipay" in text


def test_an_unknown_customs_code_is_refused_by_antom(sandboxed):
    declared = declare(paid(sandboxed), customs="HONGKONG")
    assert (declared.status, declared.result_code) == ("refused", "CUSTOMS_NOT_SUPPORT")


@pytest.mark.parametrize(
    ("minor", "currency", "why"),
    [(10002, "HKD", "above the payment's HK$100.01"), (100, "CNY", "payment's currency, HKD")],
)
def test_an_amount_that_does_not_fit_the_payment_is_refused_before_anything_is_saved_or_sent(
    sandboxed, minor, currency, why
):
    payment = paid(sandboxed)
    with pytest.raises(DeclarationRefused, match=re.escape(why)):
        service.declare_payment(payment.id, "dc-too-much", "ZONGSHU", *MERCHANT, Money(minor, currency))

    assert db.session.scalars(select(Declaration)).all() == [] and simulated() == 0


def test_a_payment_that_is_not_paid_is_refused_before_anything_is_sent(sandboxed):
    payment = payments.charge_agreement(authorised(sandboxed, "ALIPAY_CN").id, Money(10011, "HKD"), "Milk")
    with pytest.raises(DeclarationRefused, match="only a paid payment"):
        declare(payment)
    assert simulated() == 0


def test_a_resubmitted_request_id_declares_nothing_again(sandboxed):
    payment = paid(sandboxed)
    first = declare(payment, request_id="dc-once")
    with pytest.raises(DuplicateDeclaration):
        declare(payment, request_id="dc-once")

    assert db.session.scalars(select(Declaration.id)).all() == [first.id] and simulated() == 1


def test_an_unknown_answer_stays_pending_and_the_job_sends_the_same_request_again(sandboxed):
    payment = paid(sandboxed)
    with transaction(sandboxed.sandbox.engine) as session:
        # Antom took it but the answer was lost.
        add_switch(session, "http_500", "declare", remaining=1)

    declared = declare(payment)
    assert (declared.status, declared.provider_declaration_id) == ("pending", None)
    assert service.declaration_result(declared)[1] == "info"
    sandboxed.run_jobs(scheduled=True)

    declared = fresh(declared.id)
    assert declared.status == "declared" and declared.provider_declaration_id
    assert simulated() == 1  # the same request id: one declaration at Antom


def test_staff_asking_for_the_answer_is_audited_and_moves_what_changed(sandboxed):
    declared = declare(paid(sandboxed))
    sandboxed.app.extensions["huey"].flush()  # no job: staff ask themselves

    still_open = service.refresh_declarations(declared.payment_id)
    assert still_open == 0 and fresh(declared.id).status == "declared"
    [entry] = audited("payment.declarations_refreshed")
    assert entry.object_id == str(declared.payment_id) and entry.after["open"] == 0


def test_the_sweeper_looks_again_at_declarations_left_open(sandboxed, fake_clock):
    declared = declare(paid(sandboxed))
    sandboxed.app.extensions["huey"].flush()  # the job was lost
    fake_clock.advance(hours=1)

    sweep_open_declarations()
    sandboxed.run_jobs()
    assert fresh(declared.id).status == "declared"
