"""Declaration jobs: send pending declarations again and ask customs' answer; their sweeper."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dashboard import clock
from dashboard.declarations import service
from dashboard.declarations.models import Declaration
from dashboard.declarations.states import OPEN_DECLARATION
from dashboard.events.service import failure_on_timeline
from dashboard.extensions import db
from dashboard.jobs import RETRY_PAYMENT_CALL
from dashboard.jobs import sweeper
from dashboard.jobs import task
from dashboard.payments.models import Payment

#: Open declarations untouched for this long are looked at again by the sweeper.
STUCK_AFTER = timedelta(minutes=30)
#: Declarations older than this are left to staff (customs answer within days).
SWEEP_HORIZON = timedelta(days=14)
#: Most payments one sweep re-queues (the rest wait for the next sweep).
SWEEP_BATCH = 200


@task(
    service.REFRESH_DECLARATIONS,
    RETRY_PAYMENT_CALL,
    on_failure=failure_on_timeline(Payment, "refresh declarations"),
)
def refresh_declarations_task(payment_id: int, attempt: int = 0) -> int:
    """Send a payment's pending declarations again and ask where the submitted ones stand."""
    return service.refresh_declarations(payment_id, attempt)


@sweeper
def sweep_open_declarations() -> None:
    """Re-queue payments whose declarations stayed open: a lost job or slow customs leave nothing behind."""
    now = clock.now()
    payment_ids = db.session.scalars(
        select(Declaration.payment_id)
        .where(
            Declaration.status.in_(OPEN_DECLARATION),
            Declaration.updated_at < now - STUCK_AFTER,
            Declaration.created_at > now - SWEEP_HORIZON,
        )
        .distinct()
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    for payment_id in payment_ids:
        # The last back-off step: one look, nothing more scheduled (the next sweep looks again).
        refresh_declarations_task.enqueue(payment_id, len(service.REFRESH_BACKOFF))
