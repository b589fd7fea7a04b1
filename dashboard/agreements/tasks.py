"""Agreement jobs: applyToken, token refresh, revoke retries and the agreement sweeper."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dashboard import clock
from dashboard.agreements import service
from dashboard.agreements.models import Agreement
from dashboard.agreements.service import APPLY_TOKEN
from dashboard.agreements.service import REFRESH_TOKEN
from dashboard.agreements.service import SEND_REVOKE
from dashboard.agreements.states import AgreementStatus
from dashboard.events.service import failure_on_timeline
from dashboard.extensions import db
from dashboard.jobs import RETRY_AGREEMENT_CALL
from dashboard.jobs import RETRY_TOKEN_REFRESH
from dashboard.jobs import sweeper
from dashboard.jobs import task

#: An authCode still not exchanged after this long is picked up again by the sweeper.
STUCK_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200


@task(APPLY_TOKEN, RETRY_AGREEMENT_CALL, on_failure=failure_on_timeline(Agreement, "apply token"))
def apply_token_task(agreement_id: int) -> str:
    """Exchange a received authCode for tokens."""
    return service.activate(agreement_id)


@task(REFRESH_TOKEN, RETRY_TOKEN_REFRESH, on_failure=failure_on_timeline(Agreement, "refresh token"))
def refresh_token_task(agreement_id: int) -> str:
    """Renew an access token before it expires."""
    return service.refresh(agreement_id)


@task(SEND_REVOKE, RETRY_AGREEMENT_CALL, on_failure=failure_on_timeline(Agreement, "revoke"))
def revoke_task(agreement_id: int) -> str:
    """Send a requested revoke again after an unknown answer."""
    return service.send_revoke(agreement_id)


@sweeper
def sweep_agreements() -> None:
    """Expire what ran out, renew tokens that expire soon, finish authCodes left unexchanged and send
    again revokes Antom never answered."""
    now = clock.now()
    service.expire_due(now)
    session = db.session
    due_refresh = session.scalars(
        select(Agreement.id)
        .where(
            Agreement.status == AgreementStatus.ACTIVE.value,
            Agreement.access_token_expires_at < now + service.REFRESH_AHEAD,
            Agreement.refresh_token.is_not(None),
            Agreement.updated_at < now - STUCK_AFTER,
        )
        .limit(SWEEP_BATCH)
    ).all()
    unexchanged = session.scalars(
        select(Agreement.id)
        .where(
            Agreement.status == AgreementStatus.PENDING.value,
            Agreement.auth_code.is_not(None),
            Agreement.updated_at < now - STUCK_AFTER,
        )
        .limit(SWEEP_BATCH)
    ).all()
    unrevoked = session.scalars(
        select(Agreement.id)
        .where(
            Agreement.status == AgreementStatus.ACTIVE.value,
            Agreement.revoke_requested_at < now - STUCK_AFTER,
            # Unanswered only: a refused revoke keeps Antom's code and waits for staff to ask again.
            Agreement.result_code.is_(None),
        )
        .limit(SWEEP_BATCH)
    ).all()
    session.rollback()
    for agreement_id in due_refresh:
        refresh_token_task.enqueue(agreement_id)
    for agreement_id in unexchanged:
        apply_token_task.enqueue(agreement_id)
    for agreement_id in unrevoked:
        revoke_task.enqueue(agreement_id)
