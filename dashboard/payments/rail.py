"""What one provider's payments can do, and how: the shape ``payments/antom.py`` and
``payments/worldpay.py`` each fill in, so refunds, cancels and inquiries never ask which provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from dashboard.payments.models import Payment
from dashboard.payments.models import Refund
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import refundable_minor


@dataclass(frozen=True)
class Refundable:
    """What staff may refund of a payment now, and why it is nothing when money is held."""

    minor: int
    #: Why nothing can be refunded now although the payment holds money, and when to try again.
    why_not: str | None = None


def balance_by_status(payment: Payment, refunds: list[Refund]) -> Refundable:
    """Return the balance left to refund when the status says the payment holds money, else nothing.

    Refunds awaiting approval, in flight or succeeded count against it.
    """
    if PaymentStatus(payment.status) not in PAYMENT_REFUNDABLE:
        return Refundable(0)
    return Refundable(refundable_minor(payment.amount_minor, [(r.status, r.amount_minor) for r in refunds]))


def _nothing_to_refresh(payment_id: int) -> None:
    """Refresh nothing before a refund: the provider decides on the refund itself."""


def _no_extra_rule(payment: Payment, amount_minor: int) -> str | None:
    """Add no refund rule beyond the common ones."""
    return None


@dataclass(frozen=True)
class PaymentRail:
    """One provider's payment flow, as the provider-neutral services use it."""

    #: The provider code payments of this rail carry.
    provider: str
    #: Ask the provider where an open payment stands, apply it and return the status.
    inquire: Callable[[int, int], str]
    #: Return the call that refunds a submitted refund (built from the rows, sent without a transaction).
    refund_call: Callable[[Refund], Callable[[], object]]
    #: Ask the provider where an open refund stands; None when its notification is the only news.
    inquire_refund: Callable[[int, int], str] | None = None
    #: Send a cancel; None when the provider has no cancel.
    send_cancel: Callable[[int], None] | None = None
    #: Why the provider's payments cannot be cancelled (shown to staff), when ``send_cancel`` is None.
    cancel_refusal: str | None = None
    #: When the provider stops accepting a cancel of the payment (None: no such window).
    cancel_window_ends: Callable[[Payment], datetime] | None = None
    #: How long after a payment the provider accepts refunds of it (None: the provider says).
    refund_window: Callable[[], timedelta | None] = lambda: None
    #: Bring the payment's facts up to date before a refund is checked (e.g. the refunds offered now).
    before_refund: Callable[[int], None] = _nothing_to_refresh
    #: Why this provider cannot refund ``amount_minor`` of the payment now, or None.
    refund_refusal: Callable[[Payment, int], str | None] = _no_extra_rule
    #: Whether the provider takes less than the whole refundable amount of the payment now.
    partial_refunds: Callable[[Payment], bool] = lambda payment: True
    #: What staff may refund now, given the payment's refunds (the payment page's figure).
    refundable: Callable[[Payment, list[Refund]], Refundable] = balance_by_status
    #: What to do once a notification about the payment (or one of its refunds) was applied, in
    #: that transaction (e.g. queue a fresh look at what the provider now offers); None: nothing.
    after_news: Callable[[Session, Payment], None] | None = None
    #: True when the payment page shows what the provider offers to do next.
    shows_next_actions: bool = False

    def __post_init__(self) -> None:
        if (self.send_cancel is None) == (self.cancel_refusal is None):
            raise ValueError(f"{self.provider}: a rail sends cancels or says why it cannot (one, not both)")
