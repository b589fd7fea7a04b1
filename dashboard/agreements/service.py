"""Auto Debit agreements: consult, the customer's authCode, activate with applyToken, refresh, revoke.

DESIGN §5, §8. The authCode arrives on the customer's return from the wallet and, when Antom has a
notification address, in AUTHCODE_CREATED; the first one activates the agreement.

Every Antom call is one :func:`dashboard.provider_step.provider_step`: commit first, call with
no transaction open, commit the answer with its call record on the agreement's timeline.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.agreements.models import auth_state_digest
from dashboard.agreements.states import AGREEMENT_MACHINE
from dashboard.agreements.states import PENDING_LIFETIME
from dashboard.agreements.states import AgreementEvent
from dashboard.agreements.states import AgreementStatus
from dashboard.agreements.states import token_canceled_event
from dashboard.audit import service as audit
from dashboard.crypto import lookup_hashes
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.antom.mapping import ApplyTokenRequest
from dashboard.providers.antom.mapping import ApplyTokenResult
from dashboard.providers.antom.mapping import ConsultRequest
from dashboard.providers.antom.mapping import Env
from dashboard.providers.antom.provider import ANTOM
from dashboard.providers.base import Call
from dashboard.providers.base import CallOutcome
from dashboard.providers.guidance import About
from dashboard.providers.registry import refusal_words
from dashboard.statuses import status_label
from dashboard.transitions import move

#: Tokens are renewed this long before they expire.
REFRESH_AHEAD = timedelta(days=3)
#: Seconds between retries of applyToken or revoke whose answer was unknown.
RETRY_DELAY = 30

# Jobs, by the names agreements/tasks.py declares them under (their names since they were first queued).
APPLY_TOKEN = "dashboard.agreements.tasks.apply_token_task"  # noqa: S105 - a job name, not a secret
REFRESH_TOKEN = "dashboard.agreements.tasks.refresh_token_task"  # noqa: S105 - a job name, not a secret
SEND_REVOKE = "dashboard.agreements.tasks.revoke_task"


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

    def on_move(old: AgreementStatus, new: AgreementStatus) -> None:
        now = clock.now()
        if new is AgreementStatus.ACTIVE:
            agreement.activated_at = now
        elif new is AgreementStatus.REVOKED:
            agreement.revoked_at = now
        elif new is AgreementStatus.CANCELLED_BY_CUSTOMER:
            agreement.cancelled_at = now
        # The single-use code is spent (exchanged) or useless (the agreement is over) once it moves.
        agreement.auth_code = None

    return move(
        session,
        agreement,
        AGREEMENT_MACHINE,
        event,
        result=(result_code, result_message),
        on_move=on_move,
        summary={"result_code": result_code, "result_message": result_message},
        notification_id=notification_id,
        actor_id=actor_id,
    )


def _status(agreement: Agreement | None) -> str:
    return agreement.status if agreement is not None else "missing"


def _keep_refusal(session: Session, agreement: Agreement, call: Call, kind: EventKind) -> None:
    """Keep a refusal that leaves the status as it is (the current token stays valid) and note it."""
    agreement.result_code, agreement.result_message = call.code, call.message
    record_event(session, ObjectType.AGREEMENT, agreement.id, kind, {"result_code": call.code})


def find_by_auth_state(session: Session, auth_state: str, *, lock: bool = True) -> Agreement | None:
    """Return the agreement our consult's ``authState`` names, locked unless ``lock`` is False.

    Found by the state's digest and then compared in constant time, so neither the database nor
    Python compares a presented state with ours character by character (the customer's return is
    a public page).
    """
    statement = select(Agreement).where(Agreement.auth_state_hash == auth_state_digest(auth_state))
    agreement = session.scalars(statement.with_for_update() if lock else statement).one_or_none()
    if agreement is None or not hmac.compare_digest(agreement.auth_state.encode(), auth_state.encode()):
        return None
    return agreement


def find_by_access_token(session: Session, access_token: str) -> Agreement | None:
    """Return the agreement holding ``access_token`` (by its lookup hash, any key generation), locked."""
    statement = select(Agreement).where(Agreement.access_token_hash.in_(lookup_hashes(access_token)))
    return session.scalars(statement.with_for_update()).one_or_none()


# --- consult ---------------------------------------------------------------------------------------


def start_consult(
    wallet: str,
    customer_ref: str,
    *,
    actor_id: int | None = None,
    terminal_type: str = "WEB",
    return_url: str | None = None,
) -> Agreement:
    """Ask Antom for an authorisation URL; return the pending agreement carrying it.

    :param return_url: where the customer goes once back from the wallet (a storefront's page)
    :raises AgreementRefused: an empty wallet or customer reference, or a return URL that is not an
        absolute http(s) address
    """
    wallet, customer_ref = wallet.strip().upper(), customer_ref.strip()
    if not wallet or not customer_ref or len(customer_ref) > 64:
        raise AgreementRefused("a wallet and a customer reference of at most 64 characters are needed")
    if return_url is not None and not is_web_address(return_url):
        raise AgreementRefused("the return URL must be an absolute http or https address")
    with write_transaction(db.session) as session:
        agreement = Agreement(
            wallet=wallet,
            customer_ref=customer_ref,
            return_url=return_url,
            auth_state="as-" + secrets.token_hex(16),
            status=AgreementStatus.PENDING.value,
        )
        session.add(agreement)
        session.flush()
        record_event(
            session,
            ObjectType.AGREEMENT,
            agreement.id,
            EventKind.CREATED,
            {"status": agreement.status, "wallet": wallet},
            actor_id=actor_id,
        )
        if audit.someone_acts(actor_id):
            audit.record(
                session, "agreement.consulted", object_type=ObjectType.AGREEMENT, object_id=agreement.id
            )
        agreement_id = agreement.id
        request = ConsultRequest(
            customer_belongs_to=wallet,
            auth_redirect_url=current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/checkout/authorized",
            auth_state=agreement.auth_state,
            env=Env(terminal_type=terminal_type),
        )
    provider_step(
        Agreement, agreement_id, lambda agreement: partial(ANTOM.client().consult, request), _consulted
    )
    return db.session.get(Agreement, agreement_id)


def _consulted(session: Session, agreement: Agreement, call: Call) -> None:
    if call.outcome is CallOutcome.SUCCEEDED:
        agreement.auth_url = call.result.customer_url
    elif call.outcome is CallOutcome.FAILED:
        settle(
            lambda: change_agreement(
                session, agreement, AgreementEvent.FAILED, result_code=call.code, result_message=call.message
            )
        )
    else:
        # No URL came back; a new consult (with a new authState) is the documented retry.
        agreement.result_code, agreement.result_message = call.code, call.message


# --- authorisation code and tokens -----------------------------------------------------------------


#: How an authCode reached us (the timeline says which came first).
VIA_NOTIFICATION = "notification"
VIA_RETURN = "customer_return"


def receive_auth_code(
    session: Session, agreement: Agreement, auth_code: str, notification_id: int | None = None
) -> bool:
    """Keep a fresh authCode (encrypted) and queue applyToken after the commit; return whether it was new.

    The code comes twice: on the customer's return to us and, when a notification address is
    configured at Antom, in AUTHCODE_CREATED (``notification_id``). Whichever comes second changes
    nothing: the agreement is active already, or holds the code waiting for applyToken (one
    consult gets one code, and the first to arrive is the one exchanged).

    :raises IgnoredEvent: the agreement is over (expired, failed, revoked …)
    """
    if agreement.status == AgreementStatus.ACTIVE:
        return False  # activated with the code the other way brought
    AGREEMENT_MACHINE.next(agreement.status, AgreementEvent.AUTH_CODE_RECEIVED)
    if agreement.auth_code is not None:
        return False
    agreement.auth_code = auth_code
    record_event(
        session,
        ObjectType.AGREEMENT,
        agreement.id,
        EventKind.AUTH_CODE_RECEIVED,
        {"via": VIA_RETURN if notification_id is None else VIA_NOTIFICATION},
        notification_id=notification_id,
    )
    enqueue_after_commit(session, APPLY_TOKEN, agreement.id)
    return True


#: Antom's longest authCode and authState (consult, notifyAuthorization).
MAX_AUTH_CODE, MAX_AUTH_STATE = 128, 256


def is_web_address(url: str) -> bool:
    """Return whether ``url`` is an absolute http(s) address a browser may be sent to."""
    parts = urlsplit(url)
    clean = not any(ord(char) < 0x21 or ord(char) == 0x7F or char == "\\" for char in url)
    return clean and parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 2048


def return_url_of(auth_state: str | None) -> str | None:
    """Return where the customer of the agreement ``auth_state`` names goes after the wallet, if set."""
    if not auth_state or len(auth_state) > MAX_AUTH_STATE:
        return None
    agreement = find_by_auth_state(db.session, auth_state)
    url = agreement.return_url if agreement is not None else None
    db.session.rollback()
    return url


def customer_returned(auth_code: str | None, auth_state: str | None) -> bool:
    """Take the authCode the customer's return from the wallet carries; return whether it was used.

    The wallet sends the customer back to our ``authRedirectUrl`` with ``authCode`` and
    ``authState``. A state that names a pending agreement waiting for its code (compared in
    constant time) has the code kept and applyToken queued, exactly as AUTHCODE_CREATED would;
    it is used once. Anything else — no such state, a code received already, an agreement
    activated or over — changes nothing, and the caller must not tell the two cases apart.
    """
    if not auth_code or not auth_state or len(auth_code) > MAX_AUTH_CODE or len(auth_state) > MAX_AUTH_STATE:
        return False
    with write_transaction(db.session) as session:
        agreement = find_by_auth_state(session, auth_state)
        if agreement is None or agreement.status != AgreementStatus.PENDING:
            return False
        if not receive_auth_code(session, agreement, auth_code):
            return False
        audit.record(
            session,
            "agreement.authorised_by_customer",
            object_type=ObjectType.AGREEMENT,
            object_id=agreement.id,
            after={"via": VIA_RETURN},
            actor_label="customer",
        )
        return True


def _take_tokens(agreement: Agreement, result: ApplyTokenResult) -> None:
    agreement.set_access_token(result.access_token, result.access_token_expiry_time)
    if result.refresh_token:
        agreement.refresh_token = result.refresh_token
        agreement.refresh_token_expires_at = result.refresh_token_expiry_time


def activate(agreement_id: int) -> str:
    """Exchange the stored authCode for tokens (applyToken AUTHORIZATION_CODE); return the status.

    Safe to run twice: without a stored authCode, or once active, it sends nothing. An unknown
    answer keeps the code and tries again later (a used code then answers F, and the agreement
    is left for staff to see).
    """

    def prepare(agreement: Agreement):
        if agreement.status != AgreementStatus.PENDING or not agreement.auth_code:
            return None
        request = ApplyTokenRequest.for_auth_code(agreement.wallet, agreement.auth_code)
        return partial(ANTOM.client().apply_token, request)

    return provider_step(Agreement, agreement_id, prepare, _exchanged, unsent=_status)


def _exchanged(session: Session, agreement: Agreement, call: Call) -> str:
    if call.outcome is CallOutcome.SUCCEEDED and agreement.status == AgreementStatus.PENDING:
        _take_tokens(agreement, call.result)
        settle(lambda: change_agreement(session, agreement, AgreementEvent.TOKEN_ISSUED))
    elif call.outcome is CallOutcome.FAILED:
        settle(
            lambda: change_agreement(
                session, agreement, AgreementEvent.FAILED, result_code=call.code, result_message=call.message
            )
        )
    elif call.outcome is CallOutcome.UNKNOWN:
        enqueue_after_commit(session, APPLY_TOKEN, agreement.id, delay=RETRY_DELAY)
    return agreement.status


def refresh(agreement_id: int) -> str:
    """Renew an active agreement's access token that expires within :data:`REFRESH_AHEAD`; return the status.

    Safe to run twice: a token renewed already is not due any more, so nothing is sent.
    """

    def prepare(agreement: Agreement):
        expires_at = agreement.access_token_expires_at
        due = expires_at is not None and expires_at < clock.now() + REFRESH_AHEAD
        if agreement.status != AgreementStatus.ACTIVE or not agreement.refresh_token or not due:
            return None
        request = ApplyTokenRequest.for_refresh(agreement.wallet, agreement.refresh_token)
        return partial(ANTOM.client().apply_token, request)

    return provider_step(Agreement, agreement_id, prepare, _refreshed, unsent=_status)


def _refreshed(session: Session, agreement: Agreement, call: Call) -> str:
    if call.outcome is CallOutcome.SUCCEEDED and agreement.status == AgreementStatus.ACTIVE:
        _take_tokens(agreement, call.result)
        expires_at = call.result.access_token_expiry_time
        summary = {"expires_at": expires_at.isoformat() if expires_at else None}
        record_event(session, ObjectType.AGREEMENT, agreement.id, EventKind.TOKEN_REFRESHED, summary)
    elif call.outcome is CallOutcome.FAILED:
        # The current token stays valid until it expires; the sweeper expires it then.
        _keep_refusal(session, agreement, call, EventKind.TOKEN_REFRESH_FAILED)
    return agreement.status


# --- revoke and wallet-side cancellation -----------------------------------------------------------


def revoke(agreement_id: int, reason: str | None, *, actor_id: int | None = None) -> Agreement:
    """Revoke an active agreement's token at Antom; return the agreement after the answer.

    Each request is kept (who, when, why), written on the timeline and audited; an agreement whose
    revoke is unanswered or was refused may be asked again, and the revoke is sent again.

    :param reason: why staff revoke it (shown on the agreement's page)
    :param actor_id: the staff member asking
    :raises AgreementRefused: no such agreement, or it is not active (the message says why)
    """
    with write_transaction(db.session) as session:
        agreement = locked(session, Agreement, agreement_id)
        if agreement is None:
            raise AgreementRefused(_l("agreement %(id)s does not exist", id=agreement_id))
        if agreement.revoke_refusal is not None:
            raise AgreementRefused(agreement.revoke_refusal)
        agreement.revoke_requested_at = clock.now()
        agreement.revoked_by_id = actor_id
        agreement.revoke_reason = reason
        # A new request starts without an answer; the sweeper re-sends only a revoke with none.
        agreement.result_code = agreement.result_message = None
        record_event(
            session,
            ObjectType.AGREEMENT,
            agreement_id,
            EventKind.REVOKE_REQUESTED,
            {"reason": agreement.revoke_reason},
            actor_id=actor_id,
        )
        audit.record(
            session,
            "agreement.revoke_requested",
            object_type=ObjectType.AGREEMENT,
            object_id=agreement_id,
            after={"reason": agreement.revoke_reason},
        )
    send_revoke(agreement_id)
    return db.session.get(Agreement, agreement_id)


def revoke_result(agreement: Agreement, refused: bool) -> tuple[str, str]:
    """Say what became of a revoke just asked for, and how it reads: ``success``, ``info`` or ``error``.

    :param refused: whether Antom refused it (:func:`dashboard.agreements.queries.revoke_refused`)
    """
    if agreement.status == AgreementStatus.REVOKED:
        return _("The agreement is revoked: it can no longer be charged."), "success"
    if agreement.status != AgreementStatus.ACTIVE:
        return _(
            "The agreement is %(status)s: it can no longer be charged.", status=status_label(agreement.status)
        ), "info"
    if refused:
        said = refusal_words(ANTOM.code, agreement.result_code, agreement.result_message, About.AGREEMENT)
        return _("Antom refused the revoke, so the agreement is still active: %(said)s", said=said), "error"
    return (
        _(
            "The revoke is with Antom and is sent again until it answers; this page shows the result. "
            "The agreement is not charged meanwhile."
        ),
        "info",
    )


def send_revoke(agreement_id: int) -> str:
    """Send (or re-send) the revoke of an agreement whose revoke was requested; return the status."""

    def prepare(agreement: Agreement):
        if agreement.status != AgreementStatus.ACTIVE or not agreement.access_token:
            return None
        return partial(ANTOM.client().revoke, agreement.access_token)

    return provider_step(Agreement, agreement_id, prepare, _revoked, unsent=_status)


def _revoked(session: Session, agreement: Agreement, call: Call) -> str:
    actor = agreement.revoked_by_id
    if call.outcome is CallOutcome.SUCCEEDED:
        settle(lambda: change_agreement(session, agreement, AgreementEvent.REVOKED, actor_id=actor))
    elif call.token_invalid:
        # The token is dead at the provider already (expired, revoked, unbound in the wallet): the
        # agreement can never be charged again, so the revoke is done; its code says why.
        settle(
            lambda: change_agreement(
                session,
                agreement,
                AgreementEvent.REVOKED,
                result_code=call.code,
                result_message=call.message,
                actor_id=actor,
            )
        )
    elif call.outcome is CallOutcome.FAILED:
        _keep_refusal(session, agreement, call, EventKind.REVOKE_FAILED)
    else:
        enqueue_after_commit(session, SEND_REVOKE, agreement.id, delay=RETRY_DELAY)
    return agreement.status


def token_canceled(session: Session, agreement: Agreement, reason: str | None, notification_id: int) -> bool:
    """Apply a cancelled token: it confirms our revoke, or the customer unbound the agreement in the wallet.

    :raises IgnoredEvent: the agreement is over already
    """
    event = token_canceled_event(agreement.status, agreement.revoke_requested_at is not None)
    if event is AgreementEvent.CANCELLED_BY_CUSTOMER:
        agreement.cancel_reason = reason
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
                    (Agreement.status == AgreementStatus.ACTIVE.value) & (Agreement.expires_at < now),
                )
            )
            .limit(200)
            .with_for_update()
        ).all()
        for agreement in stale:
            settle(lambda agreement=agreement: change_agreement(session, agreement, AgreementEvent.EXPIRED))
            expired.append(agreement.id)
    return expired
