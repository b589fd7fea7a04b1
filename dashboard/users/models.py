"""Staff accounts."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import LazyString
from flask_login import UserMixin
from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from dashboard import clock
from dashboard.db import Base
from dashboard.db import BigIntPK
from dashboard.db import UTCDateTime
from dashboard.db import one_of
from dashboard.i18n import lazy_gettext as _l


class Role(enum.StrEnum):
    """What a staff member may do (DESIGN §1)."""

    #: Reads payments, agreements, batches, notifications and the audit log (auditors).
    VIEWER = "viewer"
    #: Customer service: refunds, cancels, revokes agreements.
    SUPPORT = "support"
    #: Uploads payroll files and submits ACH batches.
    FINANCE = "finance"
    #: Approves refunds and batches (never their own); sees dashboards.
    MANAGER = "manager"
    #: Manages users; replays notifications; reads the audit log. Does not approve money.
    ADMIN = "admin"


#: Each role as a list or a select names it.
ROLE_LABELS: dict[str, LazyString] = {
    Role.VIEWER: _l("Viewer"),
    Role.SUPPORT: _l("Support"),
    Role.FINANCE: _l("Finance"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Admin"),
}
#: Each role as a sentence names it ("… can now log in as support.").
ROLE_WORDS: dict[str, LazyString] = {
    Role.VIEWER: _l("viewer"),
    Role.SUPPORT: _l("support"),
    Role.FINANCE: _l("finance"),
    Role.MANAGER: _l("manager"),
    Role.ADMIN: _l("admin"),
}


def role_label(role: str) -> LazyString | str:
    """Return ``role`` as a list or a select names it, in the language of the page (unknown: as stored)."""
    label = ROLE_LABELS.get(role)
    return label if label is not None else role


def role_word(role: str) -> LazyString | str:
    """Return ``role`` as a sentence or a badge names it, in the language of the page (unknown: as stored)."""
    word = ROLE_WORDS.get(role)
    return word if word is not None else role


def new_session_token() -> str:
    """Return a fresh per-login token (what the session cookie names)."""
    return secrets.token_urlsafe(32)


class User(UserMixin, Base):
    """A member of staff who can log in."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", [role.value for role in Role]),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: Lower-cased login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    #: argon2id hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Per-login token stored in the session; rotating it ends every open session.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: True until the user replaces a password an admin set for them.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The language the pages are shown in (``en``, ``zh_Hant_HK``); unset follows the browser.
    language: Mapped[str | None] = mapped_column(String(16))

    def get_id(self) -> str:
        """Return the per-login token, so a copied cookie dies when it rotates."""
        return self.session_token

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users.
        return self.active

    def rotate_session_token(self) -> None:
        """End every session of this user."""
        self.session_token = new_session_token()

    def is_locked(self) -> bool:
        """Return True while a lockout is in force."""
        return self.locked_until is not None and self.locked_until > clock.now()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}{'' if self.active else ' disabled'}>"


@dataclass(frozen=True, eq=False)
class SignedIn(UserMixin):
    """The member of staff a request is signed in as: their active account, read once per request.

    Not an ORM entity, which costs a page about 0.1-0.2 ms to build: what changes an account goes
    through a service, which reads and locks the account itself.
    """

    id: int
    email: str
    name: str
    role: str
    language: str | None
    must_change_password: bool
    last_login_at: datetime | None
    session_token: str
    #: Whether they have a confirmed second factor (the access check asks on every request).
    second_factor_enrolled: bool

    def get_id(self) -> str:
        """Return the per-login token, as :meth:`User.get_id` does."""
        return self.session_token
