"""Payment jobs: resolve unknown payments, refunds and cancels; the payment sweeper (DESIGN §8 "Jobs")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dashboard import clock
from dashboard.events.service import failure_on_timeline
from dashboard.extensions import db
from dashboard.jobs import RETRY_PAYMENT_CALL
from dashboard.jobs import sweeper
from dashboard.jobs import task
from dashboard.payments import service
from dashboard.payments.changes import INQUIRE_PAYMENT
from dashboard.payments.changes import INQUIRE_REFUND
from dashboard.payments.changes import REFRESH_PAYMENT
from dashboard.payments.changes import SEND_CANCEL
from dashboard.payments.changes import SEND_REFUND
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import MAX_UNKNOWN_CANCEL_ANSWERS
from dashboard.payments.states import OPEN_CANCEL
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.states import OPEN_REFUND

#: Open work untouched for this long is picked up again by the sweeper.
STUCK_AFTER = timedelta(minutes=10)
#: Payments older than this are left to their provider's own expiry events and to staff.
SWEEP_HORIZON = timedelta(days=2)
#: Most rows one sweep re-queues per kind (the rest wait for the next minute).
SWEEP_BATCH = 200


@task(INQUIRE_PAYMENT, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(Payment, "inquire payment"))
def inquire_payment_task(payment_id: int, attempt: int = 0) -> str:
    """Ask the provider about an unknown payment (and cancel an Auto Debit unknown at expiry)."""
    return service.inquire_payment(payment_id, attempt)


@task(INQUIRE_REFUND, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(Refund, "inquire refund"))
def inquire_refund_task(refund_id: int, attempt: int = 0) -> str:
    """Ask the provider about an unknown refund."""
    return service.inquire_refund(refund_id, attempt)


@task(SEND_REFUND, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(Refund, "send refund"))
def send_refund_task(refund_id: int) -> None:
    """Send a submitted refund again with its own request id (the provider never received it)."""
    service.send_refund(refund_id)


@task(REFRESH_PAYMENT, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(Payment, "refresh payment"))
def refresh_payment_task(payment_id: int) -> None:
    """Ask the provider what it offers to do with a payment now (after a notification about it)."""
    service.refresh_payment(payment_id)


@task(SEND_CANCEL, RETRY_PAYMENT_CALL, on_failure=failure_on_timeline(Cancel, "send cancel"))
def send_cancel_task(cancel_id: int) -> None:
    """Send an unresolved cancel again (Antom cancels are keyed by the payment, so this is safe)."""
    service.send_cancel(cancel_id)


@sweeper
def sweep_open_payments() -> None:
    """Re-queue payments, refunds and cancels left open: a crash or a lost job leaves nothing behind."""
    cutoff = clock.now() - STUCK_AFTER
    session = db.session
    open_payments = session.scalars(
        select(Payment.id)
        .where(
            Payment.status.in_(OPEN_PAYMENT),
            Payment.updated_at < cutoff,
            Payment.created_at > clock.now() - SWEEP_HORIZON,
        )
        .limit(SWEEP_BATCH)
    ).all()
    open_refunds = session.scalars(
        select(Refund.id).where(Refund.status.in_(OPEN_REFUND), Refund.updated_at < cutoff).limit(SWEEP_BATCH)
    ).all()
    open_cancels = session.scalars(
        select(Cancel.id)
        .where(
            Cancel.status.in_(OPEN_CANCEL),
            Cancel.updated_at < cutoff,
            # One still unknown after the last retry waits for staff and the provider's support.
            Cancel.unknown_answers < MAX_UNKNOWN_CANCEL_ANSWERS,
        )
        .limit(SWEEP_BATCH)
    ).all()
    session.rollback()
    for payment_id in open_payments:
        inquire_payment_task.enqueue(payment_id, 0)
    for refund_id in open_refunds:
        inquire_refund_task.enqueue(refund_id, 0)
    for cancel_id in open_cancels:
        send_cancel_task.enqueue(cancel_id)
