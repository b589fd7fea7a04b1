"""The tamper-evident audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime


class AuditLog(Base):
    """One audited action; ``hash`` chains it to the row before it."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action_seq", "action", "seq"),
        Index("ix_audit_log_actor_seq", "actor_id", "seq"),
        Index("ix_audit_log_object_seq", "object_type", "object_id", "seq"),
        # The audit page's filters, newest first: who, what kind of object, which object.
        Index("ix_audit_log_actor_label_seq", "actor_label", "seq"),
        Index("ix_audit_log_object_type_seq", "object_type", "seq"),
        Index("ix_audit_log_object_id_seq", "object_id", "seq"),
        # A day filter lists entries by time, ties by chain position (see audit_page).
        Index("ix_audit_log_created_at_seq", "created_at", "seq"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: Position in the chain, 1, 2, 3 … with no gaps.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The actor's e-mail at the time (or "system", "provider:antom" …).
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: State before and after, secrets already redacted.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The exact text that was hashed, stored verbatim so re-reading never changes it.
    canonical: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditLog #{self.seq} {self.action} by {self.actor_label}>"


class AuditChainHead(Base):
    """The single row that serialises appends: lock it, read the last hash, move it on."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditChainHead #{self.seq}>"
