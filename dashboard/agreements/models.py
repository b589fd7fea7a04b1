"""Antom Auto Debit agreements (authorisations) and their tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import validates

from dashboard.agreements.states import PENDING_LIFETIME
from dashboard.agreements.states import AgreementStatus
from dashboard.agreements.states import why_not_chargeable
from dashboard.agreements.states import why_not_revocable
from dashboard.crypto import EncryptedText
from dashboard.crypto import lookup_hash
from dashboard.db import CLIPPED
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import ProviderTracked
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.events.kinds import ObjectType
from dashboard.events.kinds import TimelineRef
from dashboard.i18n import lazy_gettext as _l


def auth_state_digest(auth_state: str) -> str:
    """Return the lookup digest of an ``authState``: SHA-256, hex.

    A state is 128 random bits, so an unkeyed digest reveals nothing; what a lookup's timing could
    tell about the digest does not help anyone make up a state that has it.
    """
    return hashlib.sha256(auth_state.encode()).hexdigest()


class Agreement(ProviderTracked, Base):
    """One customer's Auto Debit authorisation with one wallet.

    Tokens are stored encrypted (``DATA_ENCRYPTION_KEYS``); ``access_token_hash`` finds the
    agreement from the ``accessToken`` of a TOKEN_CANCELED notification. Set tokens through
    :meth:`set_access_token` so the hash follows.
    """

    __tablename__ = "agreements"
    __table_args__ = (
        one_of("status", [status.value for status in AgreementStatus]),
        # NULLs are distinct in both databases, so the index is unique among tokens that exist.
        Index("ix_agreements_access_token_hash", "access_token_hash", unique=True),
        Index("ix_agreements_created_at_id", "created_at", "id"),
        Index("ix_agreements_status_created_at_id", "status", "created_at", "id"),
        # The list filtered by wallet, alone or with a status.
        Index("ix_agreements_wallet_created_at_id", "wallet", "created_at", "id"),
        Index("ix_agreements_wallet_status_created_at_id", "wallet", "status", "created_at", "id"),
        # Active agreements that run out within some days.
        Index("ix_agreements_status_expires_at", "status", "expires_at"),
        # How many were revoked, or cancelled in the wallet, within some days (the report's counts).
        Index("ix_agreements_status_revoked_at", "status", "revoked_at"),
        Index("ix_agreements_status_cancelled_at", "status", "cancelled_at"),
        # The sweep's, every minute: active agreements whose token runs out soon, or whose revoke
        # went unanswered.
        Index("ix_agreements_status_access_token_expires_at", "status", "access_token_expires_at"),
        Index("ix_agreements_status_revoke_requested_at", "status", "revoke_requested_at"),
        Index("ix_agreements_customer_ref", "customer_ref"),
        Index("ix_agreements_auth_state_hash", "auth_state_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: Antom ``customerBelongsTo``: the wallet (ALIPAY_HK, GCASH, …).
    wallet: Mapped[str] = mapped_column(String(32))
    #: The merchant's own reference for the customer (shown in lists, searchable).
    customer_ref: Mapped[str] = mapped_column(String(64))
    #: The ``authState`` we sent with consult; AUTHCODE_CREATED and the customer's return carry it.
    auth_state: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 (hex) of ``auth_state``, set with it: what finds the agreement from a state someone
    #: presents, so the database never compares the state itself (see :func:`auth_state_digest`).
    auth_state_hash: Mapped[str] = mapped_column(String(64))
    #: Where the customer is sent to authorise (consult's ``normalUrl``/``schemeUrl``).
    auth_url: Mapped[str | None] = mapped_column(String(2048))
    #: Where the customer goes after linking their wallet (a storefront's page), if it named one.
    return_url: Mapped[str | None] = mapped_column(String(2048))
    #: The single-use authCode from AUTHCODE_CREATED, until applyToken exchanges it (encrypted).
    auth_code: Mapped[str | None] = mapped_column(EncryptedText)
    #: Encrypted ``accessToken`` (pay's ``paymentMethodId``).
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    #: HMAC-SHA256 lookup value of the access token (:func:`dashboard.crypto.lookup_hash`).
    access_token_hash: Mapped[str | None] = mapped_column(String(64))
    #: The token's last 4 characters, so lists can show it masked without decrypting.
    access_token_last4: Mapped[str | None] = mapped_column(String(4))
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Encrypted ``refreshToken`` (optional: not every wallet issues one).
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it runs out unless the customer authorises again: the later of its tokens' expiries (a
    #: refresh token renews the access token until it expires itself). Follows the two expiries.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An :class:`AgreementStatus` value.
    status: Mapped[str] = mapped_column(String(24), default=AgreementStatus.PENDING.value)
    #: When staff asked to revoke; a TOKEN_CANCELED arriving after this confirms our revoke.
    revoke_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    #: When and why the customer unbound it in the wallet (TOKEN_CANCELED ``reason``).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @validates("auth_state")
    def _hash_auth_state(self, key: str, value: str) -> str:
        self.auth_state_hash = auth_state_digest(value)
        return value

    @validates("access_token_expires_at", "refresh_token_expires_at")
    def _follow_expiry(self, key: str, value: datetime | None) -> datetime | None:
        expiries = {
            "access_token_expires_at": self.access_token_expires_at,
            "refresh_token_expires_at": self.refresh_token_expires_at,
            key: value,
        }
        known = [expiry for expiry in expiries.values() if expiry is not None]
        self.expires_at = max(known) if known else None
        return value

    def set_access_token(self, token: str | None, expires_at: datetime | None = None) -> None:
        """Store a new access token (encrypted), its lookup hash, last 4 and expiry."""
        self.access_token = token
        self.access_token_hash = lookup_hash(token) if token else None
        self.access_token_last4 = token[-4:] if token else None
        self.access_token_expires_at = expires_at

    @property
    def auth_link_expires_at(self) -> datetime | None:
        """Until when the customer's authorisation link may still be sent to them; None when there is
        none to send (no link, or the agreement is no longer pending, or the link was used already)."""
        if self.status != AgreementStatus.PENDING or not self.auth_url or self.auth_code is not None:
            return None
        return self.created_at + PENDING_LIFETIME

    @property
    def revoke_refusal(self) -> str | None:
        """Why it cannot be revoked now, as staff read it; None when it can (it is active)."""
        return why_not_revocable(self.status)

    @property
    def charge_refusal(self) -> str | None:
        """Why it cannot be charged now, as staff read it; None when it can."""
        refusal = why_not_chargeable(self.status, self.revoke_requested_at is not None)
        if refusal is None and self.access_token_hash is None:
            return _l("it holds no access token")
        return refusal

    @property
    def timeline(self) -> TimelineRef:
        """The agreement's timeline."""
        return TimelineRef(ObjectType.AGREEMENT, self.id)

    def __repr__(self) -> str:
        return f"<Agreement {self.id} {self.wallet} {self.customer_ref} {self.status}>"
