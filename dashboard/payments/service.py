"""The payments service the pages, jobs and the demo call (DESIGN §3, §5).

Starting payments is provider-specific (``payments/antom.py`` charges an Auto Debit agreement,
``payments/worldpay.py`` starts an AlipayHK sale); refunds, cancels and inquiries are not
(``payments/refunds.py``, ``payments/cancels.py``, each provider's rail). Status changes that
notifications apply are in ``payments/changes.py``.
"""

from __future__ import annotations

from dashboard.extensions import db
from dashboard.payments.antom import DuplicateCharge
from dashboard.payments.antom import charge_agreement
from dashboard.payments.antom import charge_result
from dashboard.payments.antom import new_charge_request_id
from dashboard.payments.cancels import cancel_payment
from dashboard.payments.cancels import send_cancel
from dashboard.payments.changes import CancelRefused
from dashboard.payments.changes import PaymentRefused
from dashboard.payments.models import Payment
from dashboard.payments.rails import rail_for
from dashboard.payments.refunds import inquire_refund
from dashboard.payments.refunds import new_refund_request_id
from dashboard.payments.refunds import refresh_payment
from dashboard.payments.refunds import refund_payment
from dashboard.payments.refunds import send_refund
from dashboard.payments.states import OPEN_PAYMENT
from dashboard.payments.worldpay import create_alipayhk_payment


def inquire_payment(payment_id: int, attempt: int = 0) -> str:
    """Ask the provider where an open payment stands, apply the answer and return the status.

    Still unknown: it is asked about again later with back-off (each provider's rail says how).
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        db.session.rollback()
        return "missing"
    status, rail = payment.status, rail_for(payment.provider)
    db.session.rollback()
    if status not in OPEN_PAYMENT:
        return status
    return rail.inquire(payment_id, attempt)


__all__ = [
    "CancelRefused",
    "DuplicateCharge",
    "PaymentRefused",
    "cancel_payment",
    "charge_agreement",
    "charge_result",
    "create_alipayhk_payment",
    "inquire_payment",
    "inquire_refund",
    "new_charge_request_id",
    "new_refund_request_id",
    "refresh_payment",
    "refund_payment",
    "send_cancel",
    "send_refund",
]
