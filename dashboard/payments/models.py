"""Payments (Antom Auto Debit, AlipayHK via Worldpay), their refunds and Antom cancels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from dashboard.db import CLIPPED
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import ProviderTracked
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.db import partial_index
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.kinds import TimelineRef
from dashboard.money import Money
from dashboard.payments.states import MAX_UNKNOWN_CANCEL_ANSWERS
from dashboard.payments.states import OPEN_CANCEL
from dashboard.payments.states import CancelStatus
from dashboard.payments.states import PaymentStatus
from dashboard.payments.states import RefundStatus
from dashboard.providers.antom.consts import PROVIDER as ANTOM
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY

#: The providers a payment can come from.
PROVIDERS = (ANTOM, WORLDPAY)


class Payment(ProviderTracked, Base):
    """One payment we started with a provider (or learnt about from an Antom notification)."""

    __tablename__ = "payments"
    __table_args__ = (
        one_of("provider", PROVIDERS),
        one_of("status", [status.value for status in PaymentStatus]),
        CheckConstraint("amount_minor > 0", name="positive_amount"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refunded_in_range"),
        # request_id leads, so a search by our id alone (exact or prefix) uses it too.
        UniqueConstraint("request_id", "provider", name="uq_payments_request_id_provider"),
        Index("ix_payments_provider_payment_id", "provider_payment_id"),
        # An agreement's newest payments, without a sort.
        Index("ix_payments_agreement_id_created_at_id", "agreement_id", "created_at", "id"),
        Index("ix_payments_created_at_id", "created_at", "id"),
        Index("ix_payments_status_created_at_id", "status", "created_at", "id"),
        Index("ix_payments_provider_created_at_id", "provider", "created_at", "id"),
        # The list filtered by provider and status together.
        Index("ix_payments_provider_status_created_at_id", "provider", "status", "created_at", "id"),
        # The list filtered by wallet / method, or by currency (with or without an amount range, walked
        # newest first); by a single amount in a currency, already in page order; by money refunded
        # (only refunded payments are in that index, and the query states its condition literally).
        Index("ix_payments_payment_method_created_at_id", "payment_method", "created_at", "id"),
        Index("ix_payments_currency_created_at_id", "currency", "created_at", "id"),
        # The list filtered by result code (the errors report's click-through), in page order.
        Index("ix_payments_result_code_created_at_id", "result_code", "created_at", "id"),
        Index(
            "ix_payments_currency_amount_minor_created_at_id", "currency", "amount_minor", "created_at", "id"
        ),
        partial_index("ix_payments_refunded_created_at_id", "created_at", "id", where="refunded_minor > 0"),
        # A settlement batch's day: a provider's payments paid that day (only paid ones are indexed).
        partial_index("ix_payments_provider_paid_at", "provider", "paid_at", where="paid_at IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: ``antom`` or ``worldpay``.
    provider: Mapped[str] = mapped_column(String(16))
    #: Our id for it: Antom ``paymentRequestId`` / Worldpay ``transactionReference`` (≤ 64).
    request_id: Mapped[str] = mapped_column(String(64), info=CLIPPED)
    #: The provider's id: Antom ``paymentId`` / Worldpay ``paymentId`` (an opaque token of ~180
    #: characters); unknown until it answers.
    provider_payment_id: Mapped[str | None] = mapped_column(String(512))
    #: The Auto Debit agreement charged (Antom); None for AlipayHK via Worldpay.
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id", ondelete="RESTRICT"))
    #: Amount in minor units of ``currency`` (never a float).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: ISO 4217 code.
    currency: Mapped[str] = mapped_column(String(3))
    #: Payment method (Antom ``paymentMethodType`` such as ALIPAY_HK; Worldpay ``alipay_hk``).
    payment_method: Mapped[str | None] = mapped_column(String(32))
    #: A :class:`PaymentStatus` value.
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING.value)
    #: Sum of succeeded refunds in minor units (0 ≤ refunded ≤ amount, checked by the database).
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: What the customer bought (Antom ``order.orderDescription``, Worldpay narrative).
    order_description: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    #: The merchant's own reference for the order, as staff typed it (Antom's order reference;
    #: our request id is sent there when it is empty).
    merchant_reference: Mapped[str | None] = mapped_column(String(64), info=CLIPPED)
    #: Where to send the shopper (Worldpay ``_links.redirect``), when there is one.
    redirect_url: Mapped[str | None] = mapped_column(String(2048))
    #: Worldpay ``_actions`` as last seen (drives the Refund button; re-queried before use).
    actions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: When the provider stops trying (Auto Debit ``paymentExpiryTime``: 1 minute after pay).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was paid (Antom ``paymentTime``; Worldpay ``authorized``).
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the back office recorded its first final status (it left pending/processing); None while open.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agreement = relationship("Agreement")

    @property
    def amount(self) -> Money:
        """The amount as :class:`Money`."""
        return Money(self.amount_minor, self.currency)

    @property
    def refunded(self) -> Money:
        """What has been refunded, as :class:`Money`."""
        return Money(self.refunded_minor or 0, self.currency)

    @property
    def timeline(self) -> TimelineRef:
        """The payment's own timeline (its refunds and cancels write there too)."""
        return TimelineRef(ObjectType.PAYMENT, self.id)

    def __repr__(self) -> str:
        amount = f"{self.amount_minor} {self.currency}"
        return f"<Payment {self.id} {self.provider} {self.request_id} {amount} {self.status}>"


class Refund(ProviderTracked, Base):
    """A refund of (part of) a payment: Antom ``refund`` or Worldpay (partial) reversal."""

    __tablename__ = "refunds"
    __table_args__ = (
        one_of("status", [status.value for status in RefundStatus]),
        CheckConstraint("amount_minor > 0", name="positive_amount"),
        CheckConstraint(
            "approved_by_id IS NULL OR requested_by_id IS NULL OR approved_by_id <> requested_by_id",
            name="not_self_approved",
        ),
        Index("ix_refunds_payment_id_id", "payment_id", "id"),
        Index("ix_refunds_provider_refund_id", "provider_refund_id"),
        Index("ix_refunds_status_created_at_id", "status", "created_at", "id"),
        # A settlement batch's day: the refunds done that day; a day's transactions: those asked for.
        partial_index("ix_refunds_refunded_at", "refunded_at", where="refunded_at IS NOT NULL"),
        Index("ix_refunds_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    #: Our idempotency key, made once per form: Antom ``refundRequestId`` / Worldpay reversal ``reference``.
    request_id: Mapped[str] = mapped_column(String(128), unique=True, info=CLIPPED)
    #: Amount in minor units of ``currency`` (the payment's currency).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: Why staff refunded (shown to approvers; Antom ``refundReason``).
    reason: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    #: What staff added to the reason (required for "Other"); shown to approvers.
    note: Mapped[str | None] = mapped_column(String(1000), info=CLIPPED)
    #: A :class:`RefundStatus` value.
    status: Mapped[str] = mapped_column(String(24))
    #: Antom ``refundId``; Worldpay has none (its events carry our ``reference``).
    provider_refund_id: Mapped[str | None] = mapped_column(String(128))
    #: Staff member who asked; None for a refund learnt from an Antom notification.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Manager who approved it (never the requester).
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Manager who rejected it.
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When a manager approved or rejected it.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What the approving or rejecting manager wrote.
    decision_comment: Mapped[str | None] = mapped_column(String(1000), info=CLIPPED)
    #: When the provider reported it refunded.
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payment = relationship("Payment")

    @property
    def amount(self) -> Money:
        """The amount as :class:`Money`."""
        return Money(self.amount_minor, self.currency)

    @property
    def timeline(self) -> TimelineRef:
        """Its payment's timeline: a payment page shows one timeline (DESIGN §6)."""
        return TimelineRef(
            ObjectType.PAYMENT, self.payment_id, {"refund_id": self.id}, EventKind.REFUND_STATUS_CHANGED
        )

    def __repr__(self) -> str:
        amount = f"{self.amount_minor} {self.currency}"
        return f"<Refund {self.id} of payment {self.payment_id} {amount} {self.status}>"


class Cancel(ProviderTracked, Base):
    """An Antom ``cancel`` of a whole payment (only in the cancel window, only before any refund)."""

    __tablename__ = "cancels"
    __table_args__ = (
        one_of("status", [status.value for status in CancelStatus]),
        Index("ix_cancels_payment_id_id", "payment_id", "id"),
        Index("ix_cancels_status_created_at_id", "status", "created_at", "id"),
        # A settlement batch's or a day's transactions: the cancels done that day.
        partial_index("ix_cancels_cancelled_at", "cancelled_at", where="cancelled_at IS NOT NULL"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    #: Our idempotency key, made once per form (Antom cancels by the payment's own ids).
    request_id: Mapped[str] = mapped_column(String(128), unique=True, info=CLIPPED)
    #: Why staff cancelled.
    reason: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    #: A :class:`CancelStatus` value.
    status: Mapped[str] = mapped_column(String(16), default=CancelStatus.SUBMITTED.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Antom ``cancelTime``.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How many answers to this cancel were unknown (U, timeout); at
    #: :data:`~dashboard.payments.states.MAX_UNKNOWN_CANCEL_ANSWERS` it is not sent again.
    unknown_answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    payment = relationship("Payment")

    @property
    def awaits_support(self) -> bool:
        """Return True when it is still unknown after the last retry the provider allows."""
        return self.status in OPEN_CANCEL and self.unknown_answers >= MAX_UNKNOWN_CANCEL_ANSWERS

    @property
    def timeline(self) -> TimelineRef:
        """Its payment's timeline."""
        return TimelineRef(
            ObjectType.PAYMENT, self.payment_id, {"cancel_id": self.id}, EventKind.CANCEL_STATUS_CHANGED
        )

    def __repr__(self) -> str:
        return f"<Cancel {self.id} of payment {self.payment_id} {self.status}>"
