"""Cancel a whole payment where its provider has a cancel (Antom: within the window, before any refund)."""

from __future__ import annotations

from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.payments.changes import CancelRefused
from dashboard.payments.changes import open_cancel
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.rails import rail_for
from dashboard.payments.states import OPEN_CANCEL


def cancel_refusal(payment: Payment) -> str | None:
    """Return why ``payment``'s provider cannot cancel it at all, or None when it has a cancel."""
    return rail_for(payment.provider).cancel_refusal


def cancel_payment(
    payment_id: int, request_id: str, reason: str | None, *, actor_id: int | None = None
) -> Cancel:
    """Cancel a whole payment (refunding it in full if it was paid); return the cancel.

    :raises CancelRefused: a provider without a cancel (AlipayHK), a payment with refunds, a
        final one, or a request id used already
    """
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        if payment is None:
            raise CancelRefused(f"payment {payment_id} does not exist")
        refusal = cancel_refusal(payment)
        if refusal is not None:
            raise CancelRefused(refusal)
        cancel_id = open_cancel(session, payment, request_id, reason, actor_id).id
    send_cancel(cancel_id)
    return db.session.get(Cancel, cancel_id)


def send_cancel(cancel_id: int) -> None:
    """Send (or send again) an open cancel to its payment's provider."""
    cancel = db.session.get(Cancel, cancel_id)
    if cancel is None or cancel.status not in OPEN_CANCEL:
        db.session.rollback()
        return
    rail = rail_for(cancel.payment.provider)
    db.session.rollback()
    rail.send_cancel(cancel_id)
