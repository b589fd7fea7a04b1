"""Logging in and out, lockout, and changing one's own password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard.audit import service as audit
from dashboard.auth.models import is_enrolled
from dashboard.auth.passwords import hash_password
from dashboard.auth.passwords import password_problem
from dashboard.auth.passwords import verify_password
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.users.models import SignedIn
from dashboard.users.models import User

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)

#: A dummy hash checked for unknown e-mails, so timing does not reveal which exist.
_DUMMY_HASH: dict[str, str] = {}


class PasswordRejected(ValueError):
    """The new password does not meet the rules, or the current one is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class AccountLocked(Exception):
    """Too many wrong passwords: the account is locked and its sessions have ended."""


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to; only ``user`` is shown to the caller's session.

    With ``needs_code`` the password was right but the user is not signed in: their second factor
    is asked for next (:func:`complete_login` once it passes).
    """

    user: User | None
    locked: bool = False
    needs_code: bool = False


def record_own(user: User, action: str, after: dict | None = None) -> None:
    """Audit ``action`` done by ``user`` on their own account (a sign-in, a wrong code, a logout)."""
    audit.record(
        db.session,
        action,
        object_type=ObjectType.USER,
        object_id=user.id,
        after=after,
        actor_id=user.id,
        actor_label=user.email,
    )


def normalise_email(email: str) -> str:
    """Return the e-mail as stored: trimmed and lower-cased."""
    return email.strip().lower()


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials, count failures, lock after repeated failures; audit each outcome.

    :param email: as typed
    :param password: as typed
    """
    address = normalise_email(email)
    with write_transaction(db.session):
        # Locked and read afresh: two wrong passwords at once must both count toward the lockout.
        user = db.session.scalar(
            select(User)
            .where(func.lower(User.email) == address)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        # The same hash work on every path (unknown, locked, disabled, wrong, right), so the time an
        # answer takes tells nothing of which accounts exist or are locked or disabled.
        password_ok = verify_password(user.password_hash if user is not None else _dummy_hash(), password)
        if user is None:
            audit.record(
                db.session,
                "auth.login_failed",
                after={"email": address, "reason": "unknown"},
                actor_label=address,
            )
            return LoginResult(None)
        if user.is_locked():
            record_own(user, "auth.login_refused", {"reason": "locked"})
            return LoginResult(None, locked=True)
        if not user.active:
            record_own(user, "auth.login_refused", {"reason": "disabled"})
            return LoginResult(None)
        if not password_ok:
            return LoginResult(None, locked=count_failure(user, "auth.login_failed"))
        if is_enrolled(user.id):
            # The failure count stays: wrong codes after a right password go on counting toward the lockout.
            record_own(user, "auth.password_accepted")
            return LoginResult(user, needs_code=True)
        _sign_in(user)
    return LoginResult(user)


def complete_login(user: User, second_factor: str) -> None:
    """Sign in ``user`` whose second factor passed (the caller's transaction commits).

    :param second_factor: what passed, for the audit log (``code`` or ``recovery code``)
    """
    _sign_in(user, {"second_factor": second_factor})


def _sign_in(user: User, details: dict | None = None) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = clock.now()
    user.rotate_session_token()
    record_own(user, "auth.login", details)


def _dummy_hash() -> str:
    if "hash" not in _DUMMY_HASH:
        _DUMMY_HASH["hash"] = hash_password("not-a-real-password")
    return _DUMMY_HASH["hash"]


def count_failure(user: User, action: str) -> bool:
    """Count a wrong password or code of ``user`` (audited as ``action``); lock the account at the limit.

    :returns: whether the account is now locked
    """
    user.failed_logins += 1
    record_own(user, action, {"failed_logins": user.failed_logins})
    if user.failed_logins < MAX_FAILED_LOGINS:
        return False
    user.locked_until = clock.now() + LOCKOUT
    user.failed_logins = 0
    record_own(user, "auth.locked", {"locked_until": user.locked_until.isoformat()})
    return True


def logout(user: User | SignedIn) -> None:
    """End every session of ``user`` (the token in the cookie stops matching)."""
    with write_transaction(db.session):
        # Locked and read afresh: two wrong passwords or codes at once must both count.
        user = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
        user.rotate_session_token()
        record_own(user, "auth.logout")


def choose_language(user: User | SignedIn, language: str) -> None:
    """Show ``user`` the pages in ``language`` from now on, on every device."""
    with write_transaction(db.session):
        db.session.get(User, user.id, with_for_update=True).language = language


def change_own_password(user: User | SignedIn, current: str, new: str) -> User:
    """Replace ``user``'s password after checking the current one; rotates the session token.

    A wrong current password counts toward the lockout like a failed sign-in (whoever holds a
    stolen session cannot guess the password): at the limit the account locks and every session of
    it ends.

    :raises PasswordRejected: with the form field it concerns
    :raises AccountLocked: that wrong password locked the account
    """
    # Judged before the write lock is taken (zxcvbn takes tens of milliseconds); said after the
    # current password, which is checked first.
    problem = password_problem(new, (user.email, user.name))
    with write_transaction(db.session):
        # Locked and read afresh: two wrong passwords or codes at once must both count.
        user = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
        if not verify_password(user.password_hash, current):
            locked = count_failure(user, "auth.password_change_failed")
            if locked:
                user.rotate_session_token()
            db.session.commit()
            if locked:
                raise AccountLocked()
            raise PasswordRejected("current_password", _("That is not your current password."))
        if problem:
            raise PasswordRejected("new_password", problem)
        if verify_password(user.password_hash, new):
            raise PasswordRejected("new_password", _("Choose a password different from the current one."))
        user.password_hash = hash_password(new)
        user.failed_logins = 0
        user.must_change_password = False
        user.rotate_session_token()
        audit.record(db.session, "auth.password_changed", object_type=ObjectType.USER, object_id=user.id)
    return user
