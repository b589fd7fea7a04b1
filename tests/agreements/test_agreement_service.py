"""Agreements through the real services, the Antom simulator over HTTP and the real webhook."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func
from sqlalchemy import select

from dashboard.agreements import service
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import NOT_ACTIVE_BECAUSE
from dashboard.agreements.tasks import sweep_agreements
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.money import Money
from dashboard.notifications.models import Notification
from dashboard.payments import service as payments
from dashboard.payments.changes import PaymentRefused
from dashboard.providers.antom import AntomClient
from dashboard.sandbox import antom
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Token
from dashboard.sandbox.store import transaction
from tests.factories import make_agreement
from tests.sandbox import helpers


def authorised(sandboxed) -> Agreement:
    """Consult, approve on the stand-in page, and let the notification and jobs run."""
    agreement = service.start_consult("ALIPAY_HK", "cust-001")
    answer = helpers.answer_consent(agreement.auth_url)
    assert answer.status_code == 303
    sandboxed.settle()
    db.session.rollback()
    return db.session.get(Agreement, agreement.id)


def kinds(agreement_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Event.kind)
            .where(Event.object_type == "agreement", Event.object_id == str(agreement_id))
            .order_by(Event.id)
        )
    )


def test_consult_approve_and_auth_code_make_an_active_agreement(sandboxed):
    agreement = authorised(sandboxed)

    assert agreement.status == "active"
    assert agreement.access_token and agreement.access_token_last4 == agreement.access_token[-4:]
    assert agreement.auth_code is None
    [notice] = db.session.scalars(select(Notification)).all()
    assert (notice.kind, notice.verdict, notice.outcome) == ("AUTHCODE_CREATED", "valid", "applied")
    assert (notice.object_type, notice.object_id) == ("agreement", str(agreement.id))
    assert kinds(agreement.id) == [
        "created",
        "provider_call",
        "auth_code_received",
        "notification",
        "provider_call",
        "status_changed",
    ]


def test_revoke_is_confirmed_and_a_later_token_canceled_only_confirms_it(sandboxed):
    agreement = authorised(sandboxed)

    revoked = service.revoke(agreement.id, "customer asked")
    sandboxed.settle()
    db.session.rollback()

    assert revoked.status == "revoked" and revoked.revoke_reason == "customer asked"
    assert db.session.get(Agreement, agreement.id).status == "revoked"
    notices = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert notices[0].kind == "AUTHCODE_CREATED"
    for notice in notices[1:]:
        assert notice.kind == "TOKEN_CANCELED" and notice.outcome == "applied"  # confirms our revoke


def test_a_customer_unbinding_in_the_wallet_marks_the_agreement_cancelled_by_customer(sandboxed):
    agreement = authorised(sandboxed)
    sandbox = sandboxed.sandbox
    with transaction(sandbox.engine) as session:  # the customer unbinds in the wallet app
        antom.unbind(sandbox, session, session.scalar(select(Token.id)), take_faults(session, "unbind"))
    sandboxed.settle()
    db.session.rollback()

    agreement = db.session.get(Agreement, agreement.id)
    assert agreement.status == "cancelled_by_customer" and agreement.cancelled_at is not None
    assert kinds(agreement.id)[-2:] == ["status_changed", "notification"]


def test_a_revoke_answered_invalid_access_token_ends_the_agreement_as_revoked(sandboxed):
    agreement = authorised(sandboxed)
    sandbox = sandboxed.sandbox
    with transaction(sandbox.engine) as session:  # the token died at Antom; its notice is not here yet
        antom.unbind(sandbox, session, session.scalar(select(Token.id)), take_faults(session, "unbind"))

    revoked = service.revoke(agreement.id, "customer asked")

    assert (revoked.status, revoked.revoke_reason) == ("revoked", "customer asked")
    assert revoked.revoked_at is not None and revoked.result_code == "INVALID_ACCESS_TOKEN"
    changed = db.session.scalars(
        select(Event)
        .where(Event.object_type == "agreement", Event.object_id == str(agreement.id))
        .order_by(Event.id.desc())
        .limit(1)
    ).one()
    assert changed.kind == "status_changed" and changed.summary["status"] == ["active", "revoked"]
    assert changed.summary["result_code"] == "INVALID_ACCESS_TOKEN" and changed.summary["result_message"]
    with pytest.raises(PaymentRefused):
        payments.charge_agreement(agreement.id, Money(10001, "HKD"), "June plan")
    sandboxed.settle()  # the wallet's TOKEN_CANCELED comes after and only confirms it
    assert db.session.get(Agreement, agreement.id).status == "revoked"


def sign_with_a_stranger_key(sandboxed, monkeypatch) -> None:
    """Sign every later Antom call with a key Antom does not hold: it answers F INVALID_SIGNATURE."""
    settings = sandboxed.sandbox.antom
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setitem(
        sandboxed.app.extensions,
        "antom_client",
        AntomClient(settings.base_url, settings.client_id, stranger_key, settings.public_key),
    )


def test_a_revoke_refused_for_another_reason_leaves_the_agreement_active_and_is_not_resent(
    sandboxed, monkeypatch, fake_clock
):
    agreement = authorised(sandboxed)
    sign_with_a_stranger_key(sandboxed, monkeypatch)  # the token stays valid

    refused = service.revoke(agreement.id, "customer asked")

    assert (refused.status, refused.result_code) == ("active", "INVALID_SIGNATURE")
    assert kinds(agreement.id)[-2:] == ["provider_call", "revoke_failed"]
    # The sweeper leaves a refused revoke to staff: it is not sent again on its own.
    monkeypatch.undo()
    fake_clock.advance(minutes=30)
    sweep_agreements()
    sandboxed.run_jobs(scheduled=True)
    assert kinds(agreement.id)[-2:] == ["provider_call", "revoke_failed"]


def test_a_refused_revoke_may_be_asked_again_and_every_request_is_kept(sandboxed, monkeypatch):
    agreement = authorised(sandboxed)
    sign_with_a_stranger_key(sandboxed, monkeypatch)
    service.revoke(agreement.id, "customer asked by phone")
    monkeypatch.undo()

    revoked = service.revoke(agreement.id, "customer asked again by e-mail")

    assert (revoked.status, revoked.revoke_reason) == ("revoked", "customer asked again by e-mail")
    assert kinds(agreement.id).count("revoke_requested") == 2
    audited = db.session.scalars(
        select(AuditLog.after).where(AuditLog.action == "agreement.revoke_requested")
    )
    assert [after["reason"] for after in audited] == [
        "customer asked by phone",
        "customer asked again by e-mail",
    ]


@pytest.mark.parametrize("status", ["pending", "expired", "revoked", "cancelled_by_customer", "failed"])
def test_revoke_is_refused_where_it_is_not_possible_and_nothing_is_stored(app_ctx, status):
    agreement = make_agreement(db.session, status=status)
    db.session.commit()

    with pytest.raises(service.AgreementRefused) as refused:
        service.revoke(agreement.id, "customer asked", actor_id=None)

    assert str(refused.value) == NOT_ACTIVE_BECAUSE[status]
    db.session.rollback()
    assert db.session.get(Agreement, agreement.id).revoke_requested_at is None
    assert kinds(agreement.id) == []
    assert db.session.scalar(select(func.count(AuditLog.seq))) == 0


def test_revoke_of_an_agreement_that_does_not_exist_is_refused(app_ctx):
    with pytest.raises(service.AgreementRefused, match="does not exist"):
        service.revoke(987654, "customer asked")
