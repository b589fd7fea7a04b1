"""API keys for the storefront API, and the answers kept for its idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime
from dashboard.db import one_of

#: What a key may do; ``read`` reads every object, each ``…:write`` starts one kind of thing.
SCOPES = ("agreements:write", "charges:write", "payments:write", "refunds:write", "read")


class ApiKey(Base):
    """A storefront's key: only its keyed hash is stored; the secret is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: What the admin called it ("Web shop", "Billing").
    name: Mapped[str] = mapped_column(String(80))
    #: The secret's first characters (``bo_test_Ab3d``): what lists show and a leak is recognised by.
    prefix: Mapped[str] = mapped_column(String(24))
    #: HMAC-SHA256 (hex) of the whole secret under ``API_KEY_SECRET``.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Space-separated :data:`SCOPES`.
    scopes: Mapped[str] = mapped_column(String(128))
    #: True for a ``bo_test_`` key, which only a sandbox accepts.
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: After this it is refused (None: it does not expire).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When and from where it was last accepted (kept to the minute, so a call rarely writes).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(45))

    @property
    def scope_list(self) -> list[str]:
        """Its scopes, in the order of :data:`SCOPES`."""
        granted = set(self.scopes.split())
        return [scope for scope in SCOPES if scope in granted]

    def refusal(self, now: datetime) -> str | None:
        """Why it is refused now (``revoked``, ``expired``), or None when it is accepted."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return None

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}… {self.name!r}>"


#: An idempotency key's request is being answered; its answer is not kept yet.
IN_PROGRESS = "in_progress"
#: Its answer is kept and given again for the same request.
ANSWERED = "answered"


class IdempotentRequest(Base):
    """The first request made with one API key's ``Idempotency-Key``, and the answer it got.

    The row is claimed (committed) before anything is done, so a second request with the same
    key finds it: the same body gets the kept answer, another body or a request still being
    answered is refused. Rows are purged after a day.
    """

    __tablename__ = "api_idempotent_requests"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key", name="uq_api_idempotent_requests_api_key_id_key"),
        one_of("state", [IN_PROGRESS, ANSWERED]),
        Index("ix_api_idempotent_requests_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    #: The client's ``Idempotency-Key`` header.
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 (hex) of the method, path and body, so another request under the key is recognised.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: The answer given: HTTP status and JSON body.
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<IdempotentRequest {self.id} key {self.key!r} {self.state}>"
