"""Refunds at or above the approval threshold, as the approvals queue lists and decides them."""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.approvals.kinds import ApprovalKind
from dashboard.approvals.kinds import Waiting
from dashboard.i18n import gettext as _
from dashboard.money import format_money
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.refunds import approve_refund
from dashboard.payments.refunds import refund_result
from dashboard.payments.refunds import refund_summary
from dashboard.payments.refunds import reject_refund
from dashboard.payments.states import RefundStatus

WAITING = RefundStatus.AWAITING_APPROVAL.value


def _as_waiting(refund: Refund, payment: Payment) -> Waiting:
    return Waiting(
        kind=REFUND_APPROVALS.code,
        id=refund.id,
        summary=refund_summary(payment, refund.amount),
        subject=_("payment %(id)s", id=payment.request_id),
        subject_endpoint="payments.detail",
        subject_args={"payment_id": payment.id},
        amount=refund.amount,
        requested_by_id=refund.requested_by_id,
        requested_at=refund.created_at,
        reason=refund.reason,
        note=refund.note,
    )


def _waiting_refunds() -> Select:
    return (
        select(Refund, Payment).join(Payment, Payment.id == Refund.payment_id).where(Refund.status == WAITING)
    )


def waiting_refunds(session: Session, limit: int) -> list[Waiting]:
    """Return the ``limit`` refunds waiting longest for approval, oldest first."""
    rows = session.execute(_waiting_refunds().order_by(Refund.created_at, Refund.id).limit(limit))
    return [_as_waiting(refund, payment) for refund, payment in rows]


def waiting_refund(session: Session, refund_id: int) -> Waiting | None:
    """Return refund ``refund_id`` if it still waits for approval."""
    row = session.execute(_waiting_refunds().where(Refund.id == refund_id)).first()
    return _as_waiting(*row) if row else None


def waiting_refunds_statement() -> Select:
    """Return the count of refunds waiting for approval (ix_refunds_status_created_at_id answers it)."""
    return select(func.count()).select_from(Refund).where(Refund.status == WAITING)


def approve(refund_id: int, actor_id: int, comment: str | None) -> tuple[str, str]:
    """Approve a waiting refund and send it; say what the provider answered."""
    return refund_result(approve_refund(refund_id, actor_id=actor_id, comment=comment))


def reject(refund_id: int, actor_id: int, comment: str | None) -> tuple[str, str]:
    """Reject a waiting refund; nothing is sent."""
    refund = reject_refund(refund_id, actor_id=actor_id, comment=comment)
    return _(
        "Rejected the refund of %(amount)s; nothing was sent.", amount=format_money(refund.amount)
    ), "success"


REFUND_APPROVALS = ApprovalKind(
    code="refund",
    waiting=waiting_refunds,
    one=waiting_refund,
    count_statement=waiting_refunds_statement,
    approve=approve,
    reject=reject,
)
