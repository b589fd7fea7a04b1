"""Payment jobs: resolve unknown payments, refunds and cancels; the payment sweeper (DESIGN §8 "Jobs")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select

from dashboard import clock
from dashboard.events.service import failure_on_timeline
from dashboard.extensions import db
from dashboard.jobs import sweeper
from dashboard.jobs import task
from dashboard.payments import service
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY

#: Open work untouched for this long is picked up again by the sweeper.
STUCK_AFTER = timedelta(minutes=10)
#: Payments older than this are left to their provider's own expiry events and to staff.
SWEEP_HORIZON = timedelta(days=2)
#: Most rows one sweep re-queues per kind (the rest wait for the next minute).
SWEEP_BATCH = 200


def _payment_of(model: type) -> Callable[[int], int]:
    return lambda object_id: db.session.get(model, object_id).payment_id


@task(retries=2, retry_delay=30, on_failure=failure_on_timeline(service.PAYMENT, "inquire payment"))
def inquire_payment_task(payment_id: int, attempt: int = 0) -> str:
    """Ask the provider about an unknown payment (and cancel an Auto Debit unknown at expiry)."""
    return service.inquire_payment(payment_id, attempt)


@task(
    retries=2,
    retry_delay=30,
    on_failure=failure_on_timeline(service.PAYMENT, "inquire refund", _payment_of(Refund)),
)
def inquire_refund_task(refund_id: int, attempt: int = 0) -> str:
    """Ask Antom about an unknown refund."""
    return service.inquire_refund(refund_id, attempt)


@task(
    retries=2,
    retry_delay=30,
    on_failure=failure_on_timeline(service.PAYMENT, "send refund", _payment_of(Refund)),
)
def send_refund_task(refund_id: int) -> None:
    """Send a submitted Antom refund again with its own refundRequestId (Antom never received it)."""
    refund = db.session.get(Refund, refund_id)
    if refund is not None and RefundStatus(refund.status) is RefundStatus.SUBMITTED:
        service.send_refund(refund_id)
    db.session.rollback()


@task(
    retries=2,
    retry_delay=30,
    on_failure=failure_on_timeline(service.PAYMENT, "send cancel", _payment_of(Cancel)),
)
def send_cancel_task(cancel_id: int) -> None:
    """Send an unresolved Antom cancel again (cancels are keyed by the payment, so this is safe)."""
    cancel = db.session.get(Cancel, cancel_id)
    if cancel is not None and CancelStatus(cancel.status) in (
        CancelStatus.SUBMITTED,
        CancelStatus.PROCESSING,
    ):
        service.send_cancel(cancel_id)
    db.session.rollback()


@sweeper
def sweep_open_payments() -> None:
    """Re-queue payments, refunds and cancels left open: a crash or a lost job leaves nothing behind."""
    cutoff = clock.now() - STUCK_AFTER
    session = db.session
    open_payments = session.scalars(
        select(Payment.id)
        .where(
            Payment.status.in_([PaymentStatus.PENDING.value, PaymentStatus.PROCESSING.value]),
            Payment.updated_at < cutoff,
            Payment.created_at > clock.now() - SWEEP_HORIZON,
            # A Worldpay sale whose create never answered has no id to query: its webhook decides.
            or_(Payment.provider != WORLDPAY, Payment.provider_payment_id.is_not(None)),
        )
        .limit(SWEEP_BATCH)
    ).all()
    open_refunds = session.scalars(
        select(Refund.id)
        .where(
            Refund.status.in_([RefundStatus.SUBMITTED.value, RefundStatus.PROCESSING.value]),
            Refund.updated_at < cutoff,
        )
        .limit(SWEEP_BATCH)
    ).all()
    open_cancels = session.scalars(
        select(Cancel.id)
        .where(
            Cancel.status.in_([CancelStatus.SUBMITTED.value, CancelStatus.PROCESSING.value]),
            Cancel.updated_at < cutoff,
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
