"""A payment's customs declarations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import ProviderTracked
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.declarations.states import DeclarationStatus
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.kinds import TimelineRef
from dashboard.money import Money


class Declaration(ProviderTracked, Base):
    """One declaration of a paid payment to a customs authority, through the payment's provider."""

    __tablename__ = "declarations"
    __table_args__ = (
        one_of("status", [status.value for status in DeclarationStatus]),
        CheckConstraint("amount_minor > 0", name="positive_amount"),
        Index("ix_declarations_payment_id_id", "payment_id", "id"),
        # The job that asks about open declarations walks them oldest first.
        Index("ix_declarations_status_updated_at_id", "status", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    #: Our idempotency key, made once per form and committed before the call (Antom: ≤ 32).
    request_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: The customs authority's code (e.g. the General Administration of Customs).
    customs_code: Mapped[str] = mapped_column(String(128))
    #: Where that authority is (ISO 3166 alpha-2).
    customs_region: Mapped[str] = mapped_column(String(2))
    #: The merchant's registration number and name at customs.
    merchant_customs_code: Mapped[str] = mapped_column(String(20))
    merchant_customs_name: Mapped[str] = mapped_column(String(256))
    #: The declared amount in minor units of ``currency`` (at most the payment's amount).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: A :class:`DeclarationStatus` value.
    status: Mapped[str] = mapped_column(String(16), default=DeclarationStatus.PENDING.value)
    #: The provider's id of the declaration at customs (Antom ``customsPaymentId``), once accepted.
    provider_declaration_id: Mapped[str | None] = mapped_column(String(64))
    #: The order id customs know it by.
    customs_order_id: Mapped[str | None] = mapped_column(String(64))
    #: When customs answered (declared or rejected).
    customs_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The staff member who declared it.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    payment = relationship("Payment")

    @property
    def amount(self) -> Money:
        """The declared amount as :class:`Money`."""
        return Money(self.amount_minor, self.currency)

    @property
    def timeline(self) -> TimelineRef:
        """Its payment's timeline (a payment page shows one timeline)."""
        return TimelineRef(
            ObjectType.PAYMENT,
            self.payment_id,
            {"declaration_id": self.id},
            EventKind.DECLARATION_STATUS_CHANGED,
        )

    def __repr__(self) -> str:
        return f"<Declaration {self.id} of payment {self.payment_id} {self.customs_code} {self.status}>"
