"""Agreements through the real services, the Antom simulator over HTTP and the real webhook."""

from __future__ import annotations

from sqlalchemy import select

from dashboard.agreements import service
from dashboard.agreements.models import Agreement
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.notifications.models import Notification
from dashboard.sandbox import antom
from dashboard.sandbox.core import take_faults
from dashboard.sandbox.store import Token
from dashboard.sandbox.store import transaction
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
