"""A user's second factor: the authenticator app's secret and the recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import ColumnElement
from sqlalchemy import Exists
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.crypto import EncryptedText
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime
from dashboard.extensions import db


class SecondFactor(Base):
    """A user's TOTP secret (RFC 6238): pending until a first code confirms it, then enrolled."""

    __tablename__ = "second_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: The shared secret (base32), encrypted with ``DATA_ENCRYPTION_KEYS``.
    secret: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: When a first code proved the app holds the secret; None while enrolment is pending.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The time step of the last code accepted: no code of that step or an earlier one is accepted again.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One single-use recovery code, kept as a keyed hash (``crypto.lookup_hash``)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: The unique constraint (user_id first) also finds a user's codes.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def confirmed_factor_exists(user_id: ColumnElement[int] | int) -> Exists:
    """Return, as SQL, whether the user ``user_id`` (a column or an id) has a confirmed second factor."""
    return (
        select(SecondFactor.user_id)
        .where(SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_not(None))
        .exists()
    )


def is_enrolled(user_id: int) -> bool:
    """Return True when the user has a confirmed second factor."""
    return db.session.scalar(select(confirmed_factor_exists(user_id)))
