"""Cancel a whole payment where its provider has a cancel (Antom: within the window, before any refund)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.payments.changes import CancelRefused
from dashboard.payments.changes import cancel_rule_broken
from dashboard.payments.changes import check_cancel_request_id
from dashboard.payments.changes import open_cancel
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.rails import rail_for
from dashboard.payments.states import OPEN_CANCEL
from dashboard.payments.states import CancelStatus
from dashboard.providers.base import new_request_id
from dashboard.providers.guidance import About
from dashboard.providers.registry import label as provider_label
from dashboard.providers.registry import refusal_words


def new_cancel_request_id() -> str:
    """Return a cancel request id; a form makes one when it is shown, so a resubmission reuses it."""
    return new_request_id("cx-")


def why_no_cancel(session: Session, payment: Payment) -> str | None:
    """Return why ``payment`` cannot be cancelled now (the provider, its window, the rules), or None."""
    rail = rail_for(payment.provider)
    if rail.cancel_refusal is not None:
        return rail.cancel_refusal
    broken = cancel_rule_broken(session, payment)
    if broken is not None:
        return broken
    window_ends = cancel_window_ends(payment)
    if window_ends is not None and clock.now() >= window_ends:
        return _l("its cancel window (until 00:15 Hong Kong time the next day) is over: refund it instead")
    return None


def cancel_window_ends(payment: Payment) -> datetime | None:
    """Return when ``payment``'s provider stops accepting a cancel of it (None: no such window)."""
    window = rail_for(payment.provider).cancel_window_ends
    return None if window is None else window(payment)


def cancel_payment(
    payment_id: int, request_id: str, reason: str | None, *, actor_id: int | None = None
) -> Cancel:
    """Cancel a whole payment (refunding it in full if it was paid); return the cancel.

    :raises DuplicateCancel: ``request_id`` was used already (a resubmitted form): nothing sent again
    :raises CancelRefused: a provider without a cancel (AlipayHK), a payment with refunds or a
        cancel in flight, a final one, or past its cancel window
    """
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        if payment is None:
            raise CancelRefused(_l("payment %(id)s does not exist", id=payment_id))
        check_cancel_request_id(session, request_id)
        refusal = why_no_cancel(session, payment)
        if refusal is not None:
            raise CancelRefused(refusal)
        cancel_id = open_cancel(session, payment, request_id, reason, actor_id).id
    send_cancel(cancel_id)
    return db.session.get(Cancel, cancel_id)


def cancel_result(cancel: Cancel) -> tuple[str, str]:
    """Say what became of a cancel just asked for, and how it reads: ``success``, ``info`` or ``error``."""
    provider = provider_label(cancel.payment.provider)
    status = CancelStatus(cancel.status)
    if status is CancelStatus.SUCCEEDED:
        return _(
            "%(provider)s cancelled the payment; any money taken goes back to the customer.",
            provider=provider,
        ), "success"
    if status is CancelStatus.FAILED:
        said = refusal_words(cancel.payment.provider, cancel.result_code, cancel.result_message, About.CANCEL)
        return _("%(provider)s refused the cancel: %(said)s", provider=provider, said=said), "error"
    return _(
        "The cancel is with %(provider)s; this page shows its result when it arrives.", provider=provider
    ), "info"


def send_cancel(cancel_id: int) -> None:
    """Send (or send again) an open cancel to its payment's provider."""
    cancel = db.session.get(Cancel, cancel_id)
    if cancel is None or cancel.status not in OPEN_CANCEL:
        db.session.rollback()
        return
    rail = rail_for(cancel.payment.provider)
    db.session.rollback()
    rail.send_cancel(cancel_id)
