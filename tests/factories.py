"""Rows for read-side tests, built with the models directly (the services own the real writes)."""

from __future__ import annotations

import itertools
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.agreements.models import Agreement
from dashboard.auth.models import SecondFactor
from dashboard.auth.second_factor import STEP_SECONDS
from dashboard.declarations.models import Declaration
from dashboard.notifications.models import Notification
from dashboard.payments.models import Cancel
from dashboard.payments.models import Payment
from dashboard.payments.models import Refund

_numbers = itertools.count(1)


def make_agreement(session: Session, **fields: Any) -> Agreement:
    """Add and flush an agreement (pending, ALIPAY_HK, a fresh customer ref and authState)."""
    number = next(_numbers)
    values = {"wallet": "ALIPAY_HK", "customer_ref": f"CUST-{number:06d}", "auth_state": f"state-{number}"}
    agreement = Agreement(**{**values, **fields})
    session.add(agreement)
    session.flush()
    return agreement


def make_payment(session: Session, **fields: Any) -> Payment:
    """Add and flush a payment (Antom, HK$100.00, pending, a fresh request id)."""
    values = {"provider": "antom", "request_id": f"PAY-{next(_numbers):06d}", "amount_minor": 10000}
    payment = Payment(**{**values, "currency": "HKD", **fields})
    session.add(payment)
    session.flush()
    return payment


def make_refund(session: Session, payment: Payment, **fields: Any) -> Refund:
    """Add and flush a refund of ``payment`` (HK$10.00, submitted, a fresh request id)."""
    values = {"request_id": f"RF-{next(_numbers):06d}", "amount_minor": 1000, "status": "submitted"}
    refund = Refund(payment_id=payment.id, currency=payment.currency, **{**values, **fields})
    session.add(refund)
    session.flush()
    return refund


def make_cancel(session: Session, payment: Payment, **fields: Any) -> Cancel:
    """Add and flush a cancel of ``payment`` (submitted, a fresh request id)."""
    cancel = Cancel(payment_id=payment.id, **{"request_id": f"CX-{next(_numbers):06d}", **fields})
    session.add(cancel)
    session.flush()
    return cancel


def make_declaration(session: Session, payment: Payment, **fields: Any) -> Declaration:
    """Add and flush a declaration of ``payment`` (refused by the provider, HK$10.00 to ZONGSHU)."""
    values = {
        "request_id": f"DC-{next(_numbers):06d}",
        "customs_code": "ZONGSHU",
        "customs_region": "CN",
        "merchant_customs_code": "4403960ABC",
        "merchant_customs_name": "Harbour Goods Ltd",
        "amount_minor": 1000,
        "status": "refused",
        "result_code": "PAYMENT_METHOD_NOT_SUPPORTED",
    }
    declaration = Declaration(payment_id=payment.id, currency=payment.currency, **{**values, **fields})
    session.add(declaration)
    session.flush()
    return declaration


def make_notification(session: Session, **fields: Any) -> Notification:
    """Add and flush a notification (Antom PAYMENT_RESULT, an empty JSON body, received now)."""
    values = {
        "provider": "antom",
        "kind": "PAYMENT_RESULT",
        "headers": {"Content-Type": "application/json"},
        "body": b"{}",
        "verdict": "valid",
        "received_at": clock.now(),
    }
    notification = Notification(**{**values, **fields})
    session.add(notification)
    session.flush()
    return notification


def make_second_factor(session: Session, user_id: int, secret: str | None = None) -> str:
    """Enrol user ``user_id``'s authenticator app, as a confirmed enrolment leaves it; return the secret."""
    secret = secret or pyotp.random_base32()
    session.add(SecondFactor(user_id=user_id, secret=secret, confirmed_at=clock.now()))
    session.commit()
    return secret


def code_now(secret: str, steps: int = 0) -> str:
    """Return the code an authenticator app holding ``secret`` shows at the (fake) clock's time.

    :param steps: time steps later (or earlier, negative): an app whose clock drifts
    """
    step = int(clock.now().timestamp()) // STEP_SECONDS + steps
    return pyotp.TOTP(secret).generate_otp(step)
