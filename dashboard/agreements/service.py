"""Auto Debit agreements: consult, activate with applyToken, refresh, revoke (DESIGN §5, §8).

Provider calls follow the payment rule: commit first, call with no transaction open, commit the
answer with its call record on the agreement's timeline.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.agreements.states import AgreementEvent
from dashboard.agreements.states import AgreementStatus
from dashboard.agreements.states import next_status
from dashboard.agreements.states import token_canceled_event
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.service import record_event
from dashboard.events.service import record_provider_call
from dashboard.extensions import db
from dashboard.jobs import enqueue_after_commit
from dashboard.payments.states import clip
from dashboard.payments.states import keep_result
from dashboard.payments.states import settle
from dashboard.providers import clients
from dashboard.providers.antom.mapping import ApplyTokenRequest
from dashboard.providers.antom.mapping import ConsultRequest
from dashboard.providers.antom.mapping import Env
from dashboard.providers.base import Outcome
from dashboard.providers.base import call_outcome

AGREEMENT = "agreement"
#: Tokens are renewed this long before they expire.
REFRESH_AHEAD = timedelta(days=3)
#: A consult nobody completed is expired after this long (Antom sends nothing on a decline).
PENDING_LIFETIME = timedelta(hours=24)
#: Seconds between retries of applyToken or revoke whose answer was unknown.
RETRY_DELAY = 30


class AgreementRefused(ValueError):
    """The request does not fit the agreement's state; nothing was stored or sent."""


def change_agreement(
    session: Session,
    agreement: Agreement,
    event: AgreementEvent | str,
    *,
    result_code: str | None = None,
    result_message: str | None = None,
    notification_id: int | None = None,
    actor_id: int | None = None,
) -> bool:
    """Move ``agreement`` by ``event`` and record it; return whether the status moved.

    :raises IgnoredEvent: duplicate or late; nothing changed
    :raises InvalidTransition: the event contradicts the status; nothing changed
    """
    old = AgreementStatus(agreement.status)
    new = next_status(old, event)
    if result_code is not None:
        keep_result(agreement, result_code, result_message)
    now = clock.now()
    if new is old:
        return False
    agreement.status = new.value
    if new is AgreementStatus.ACTIVE:
        agreement.activated_at = now
    elif new is AgreementStatus.REVOKED:
        agreement.revoked_at = now
    elif new is AgreementStatus.CANCELLED_BY_CUSTOMER:
        agreement.cancelled_at = now
    # The single-use code is spent (exchanged) or useless (the agreement is over) once it moves.
    agreement.auth_code = None
    record_event(
        session,
        AGREEMENT,
        agreement.id,
        "status_changed",
        {"status": [old.value, new.value], "result_code": result_code, "result_message": result_message},
        notification_id=notification_id,
        actor_id=actor_id,
    )
    return True


def _tasks():
    # The tasks module imports this one; it is read when a job is queued, not at import.
    from dashboard.agreements import tasks

    return tasks


# --- consult ---------------------------------------------------------------------------------------


def start_consult(
    wallet: str, customer_ref: str, *, actor_id: int | None = None, terminal_type: str = "WEB"
) -> Agreement:
    """Ask Antom for an authorisation URL; return the pending agreement carrying it.

    :raises AgreementRefused: an empty wallet or customer reference
    """
    wallet, customer_ref = wallet.strip().upper(), customer_ref.strip()
    if not wallet or not customer_ref or len(customer_ref) > 64:
        raise AgreementRefused("a wallet and a customer reference of at most 64 characters are needed")
    with write_transaction(db.session) as session:
        agreement = Agreement(
            wallet=wallet,
            customer_ref=customer_ref,
            auth_state="as-" + secrets.token_hex(16),
            status=AgreementStatus.PENDING.value,
        )
        session.add(agreement)
        session.flush()
        record_event(
            session,
            AGREEMENT,
            agreement.id,
            "created",
            {"status": agreement.status, "wallet": wallet},
            actor_id=actor_id,
        )
        if actor_id is not None:
            audit.record(session, "agreement.consulted", object_type=AGREEMENT, object_id=agreement.id)
        agreement_id = agreement.id
        request = ConsultRequest(
            customer_belongs_to=wallet,
            auth_redirect_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/checkout/authorized",
            auth_state=agreement.auth_state,
            env=Env(terminal_type=terminal_type),
        )
    result, outcome, record, code, message = call_outcome(lambda: clients.antom().consult(request))
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        record_provider_call(session, AGREEMENT, agreement_id, record, outcome)
        if outcome is Outcome.SUCCEEDED:
            agreement.auth_url = (
                result.normal_url or result.scheme_url or result.applink_url or result.auth_url
            )
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_agreement(
                    session, agreement, AgreementEvent.FAILED, result_code=code, result_message=message
                )
            )
        else:
            # No URL came back; a new consult (with a new authState) is the documented retry.
            keep_result(agreement, code, message)
    return db.session.get(Agreement, agreement_id)


# --- authorisation code and tokens -----------------------------------------------------------------


def receive_auth_code(session: Session, agreement: Agreement, auth_code: str, notification_id: int) -> bool:
    """Keep a fresh authCode (encrypted) and queue applyToken after the commit; return whether it was new.

    :raises IgnoredEvent: the agreement is past the point of needing one
    """
    next_status(agreement.status, AgreementEvent.AUTH_CODE_RECEIVED)
    agreement.auth_code = auth_code
    record_event(session, AGREEMENT, agreement.id, "auth_code_received", {}, notification_id=notification_id)
    enqueue_after_commit(session, _tasks().apply_token_task, agreement.id)
    return True


def _take_tokens(agreement: Agreement, result) -> None:
    agreement.set_access_token(result.access_token, result.access_token_expiry_time)
    if result.refresh_token:
        agreement.refresh_token = result.refresh_token
        agreement.refresh_token_expires_at = result.refresh_token_expiry_time


def activate(agreement_id: int) -> str:
    """Exchange the stored authCode for tokens (applyToken AUTHORIZATION_CODE); return the status.

    Safe to run twice: without a stored authCode, or once active, it does nothing. An unknown
    answer keeps the code and tries again later (a used code then answers F, and the agreement
    is left for staff to see).
    """
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.status != AgreementStatus.PENDING or not agreement.auth_code:
        db.session.rollback()
        return agreement.status if agreement else "missing"
    request = ApplyTokenRequest.for_auth_code(agreement.wallet, agreement.auth_code)
    db.session.rollback()
    result, outcome, record, code, message = call_outcome(lambda: clients.antom().apply_token(request))
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        record_provider_call(session, AGREEMENT, agreement_id, record, outcome)
        if outcome is Outcome.SUCCEEDED and agreement.status == AgreementStatus.PENDING:
            _take_tokens(agreement, result)
            settle(lambda: change_agreement(session, agreement, AgreementEvent.TOKEN_ISSUED))
        elif outcome is Outcome.FAILED:
            settle(
                lambda: change_agreement(
                    session, agreement, AgreementEvent.FAILED, result_code=code, result_message=message
                )
            )
        elif outcome is Outcome.UNKNOWN:
            enqueue_after_commit(session, _tasks().apply_token_task, agreement_id, delay=RETRY_DELAY)
        return agreement.status


def refresh(agreement_id: int) -> str:
    """Renew an active agreement's access token that expires within :data:`REFRESH_AHEAD`; return the status.

    Safe to run twice: a token renewed already is not due any more, so nothing is sent.
    """
    agreement = db.session.get(Agreement, agreement_id)
    expires_at = agreement.access_token_expires_at if agreement is not None else None
    due = expires_at is not None and expires_at < clock.now() + REFRESH_AHEAD
    if (
        agreement is None
        or agreement.status != AgreementStatus.ACTIVE
        or not agreement.refresh_token
        or not due
    ):
        db.session.rollback()
        return agreement.status if agreement else "missing"
    request = ApplyTokenRequest.for_refresh(agreement.wallet, agreement.refresh_token)
    db.session.rollback()
    result, outcome, record, code, message = call_outcome(lambda: clients.antom().apply_token(request))
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        record_provider_call(session, AGREEMENT, agreement_id, record, outcome)
        if outcome is Outcome.SUCCEEDED and agreement.status == AgreementStatus.ACTIVE:
            _take_tokens(agreement, result)
            record_event(
                session,
                AGREEMENT,
                agreement_id,
                "token_refreshed",
                {
                    "expires_at": result.access_token_expiry_time.isoformat()
                    if result.access_token_expiry_time
                    else None
                },
            )
        elif outcome is Outcome.FAILED:
            # The current token stays valid until it expires; the sweeper expires it then.
            keep_result(agreement, code, message)
            record_event(session, AGREEMENT, agreement_id, "token_refresh_failed", {"result_code": code})
        return agreement.status


# --- revoke and wallet-side cancellation -----------------------------------------------------------


def revoke(agreement_id: int, reason: str | None, *, actor_id: int | None = None) -> Agreement:
    """Revoke an active agreement's token at Antom; return the agreement after the answer.

    :raises AgreementRefused: the agreement is not active
    """
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        if agreement is None or agreement.status != AgreementStatus.ACTIVE:
            raise AgreementRefused("only an active agreement can be revoked")
        if agreement.revoke_requested_at is None:
            agreement.revoke_requested_at = clock.now()
            agreement.revoked_by_id = actor_id
            agreement.revoke_reason = clip(reason, 256)
            record_event(
                session,
                AGREEMENT,
                agreement_id,
                "revoke_requested",
                {"reason": agreement.revoke_reason},
                actor_id=actor_id,
            )
            audit.record(
                session,
                "agreement.revoke_requested",
                object_type=AGREEMENT,
                object_id=agreement_id,
                after={"reason": agreement.revoke_reason},
            )
    send_revoke(agreement_id)
    return db.session.get(Agreement, agreement_id)


def send_revoke(agreement_id: int) -> str:
    """Send (or re-send) the revoke of an agreement whose revoke was requested; return the status."""
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.status != AgreementStatus.ACTIVE or not agreement.access_token:
        db.session.rollback()
        return agreement.status if agreement else "missing"
    token = agreement.access_token
    db.session.rollback()
    _, outcome, record, code, message = call_outcome(lambda: clients.antom().revoke(token))
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        record_provider_call(session, AGREEMENT, agreement_id, record, outcome)
        if outcome is Outcome.SUCCEEDED:
            actor = agreement.revoked_by_id
            settle(lambda: change_agreement(session, agreement, AgreementEvent.REVOKED, actor_id=actor))
        elif outcome is Outcome.FAILED:
            keep_result(agreement, code, message)
            record_event(session, AGREEMENT, agreement_id, "revoke_failed", {"result_code": code})
        else:
            enqueue_after_commit(session, _tasks().revoke_task, agreement_id, delay=RETRY_DELAY)
        return agreement.status


def token_canceled(session: Session, agreement: Agreement, reason: str | None, notification_id: int) -> bool:
    """Apply TOKEN_CANCELED: it confirms our revoke, or the customer unbound the agreement in the wallet.

    :raises IgnoredEvent: the agreement is over already
    """
    event = token_canceled_event(agreement.status, agreement.revoke_requested_at is not None)
    if event is AgreementEvent.CANCELLED_BY_CUSTOMER:
        agreement.cancel_reason = clip(reason, 256)
    return change_agreement(session, agreement, event, result_code=reason, notification_id=notification_id)


def expire_due(now: datetime) -> list[int]:
    """Expire pending consults past their lifetime and active agreements past their last token; return ids."""
    expired: list[int] = []
    with write_transaction(db.session) as session:
        stale = session.scalars(
            select(Agreement)
            .where(
                or_(
                    (Agreement.status == AgreementStatus.PENDING.value)
                    & (Agreement.created_at < now - PENDING_LIFETIME),
                    (Agreement.status == AgreementStatus.ACTIVE.value)
                    & (Agreement.access_token_expires_at < now)
                    & or_(
                        Agreement.refresh_token_expires_at.is_(None), Agreement.refresh_token_expires_at < now
                    ),
                )
            )
            .limit(200)
            .with_for_update()
        ).all()
        for agreement in stale:
            settle(lambda agreement=agreement: change_agreement(session, agreement, AgreementEvent.EXPIRED))
            expired.append(agreement.id)
    return expired
