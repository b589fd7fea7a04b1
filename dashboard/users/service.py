"""Staff administration: create, re-role, disable, enable, unlock, reset password."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from dashboard.audit import service as audit
from dashboard.auth import second_factor
from dashboard.auth.passwords import hash_password
from dashboard.auth.passwords import password_problem
from dashboard.auth.service import normalise_email
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.users.models import Role
from dashboard.users.models import SignedIn
from dashboard.users.models import User


class UserRuleBroken(ValueError):
    """An admin action would break a rule (last admin, own account, duplicate e-mail)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _snapshot(user: User) -> dict:
    return {"email": user.email, "name": user.name, "role": user.role, "active": user.active}


def _active_admins_other_than(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active, User.id != user.id)
    )


def create_user(
    email: str, name: str, role: str, password: str, *, must_change_password: bool = True
) -> User:
    """Create a staff account.

    :param email: login e-mail (stored lower-cased, unique)
    :param name: display name
    :param role: one of :class:`Role`
    :param password: initial password; must meet the password rules
    :param must_change_password: ask the user to replace it at first login
    :raises UserRuleBroken: duplicate e-mail, unknown role or weak password
    """
    address = normalise_email(email)
    if role not in set(Role):
        raise UserRuleBroken(_("Unknown role %(role)s.", role=repr(role)), "role")
    problem = password_problem(password, (address, name))
    if problem:
        raise UserRuleBroken(problem, "password")
    with write_transaction(db.session):
        if db.session.scalar(select(User.id).where(func.lower(User.email) == address)) is not None:
            raise UserRuleBroken(_("A user with this e-mail already exists."), "email")
        user = User(
            email=address,
            name=name.strip(),
            role=role,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
        )
        db.session.add(user)
        db.session.flush()
        audit.record(
            db.session, "user.created", object_type=ObjectType.USER, object_id=user.id, after=_snapshot(user)
        )
    return user


def change_role(user_id: int, role: str) -> User:
    """Give a user another role; ends their sessions. The last admin keeps the role."""
    if role not in set(Role):
        raise UserRuleBroken(_("Unknown role %(role)s.", role=repr(role)), "role")
    with write_transaction(db.session):
        user = db.get_or_404(User, user_id)
        if user.role == role:
            return user
        if user.role == Role.ADMIN and user.active and _active_admins_other_than(user) == 0:
            raise UserRuleBroken(_("This is the last active admin; make another admin first."), "role")
        before = _snapshot(user)
        user.role = role
        user.rotate_session_token()
        audit.record(
            db.session,
            "user.role_changed",
            object_type=ObjectType.USER,
            object_id=user.id,
            before=before,
            after=_snapshot(user),
        )
    return user


def set_active(actor: User | SignedIn, user_id: int, active: bool) -> User:
    """Disable (ends their sessions) or re-enable a user; never yourself or the last admin."""
    with write_transaction(db.session):
        user = db.get_or_404(User, user_id)
        if user.active == active:
            return user
        if not active and user.id == actor.id:
            raise UserRuleBroken(_("You cannot disable your own account."))
        if not active and user.role == Role.ADMIN and _active_admins_other_than(user) == 0:
            raise UserRuleBroken(_("This is the last active admin; make another admin first."))
        before = _snapshot(user)
        user.active = active
        user.failed_logins = 0
        user.locked_until = None
        user.rotate_session_token()
        audit.record(
            db.session,
            "user.enabled" if active else "user.disabled",
            object_type=ObjectType.USER,
            object_id=user.id,
            before=before,
            after=_snapshot(user),
        )
    return user


def unlock(user_id: int) -> User:
    """Lift a lockout from too many wrong passwords or codes before it runs out; the count starts again."""
    with write_transaction(db.session):
        user = db.get_or_404(User, user_id)
        if not user.is_locked():
            raise UserRuleBroken(_("%(email)s is not locked.", email=user.email))
        locked_until = user.locked_until
        user.failed_logins = 0
        user.locked_until = None
        audit.record(
            db.session,
            "user.unlocked",
            object_type=ObjectType.USER,
            object_id=user.id,
            before={"locked_until": locked_until.isoformat()},
            after={"locked_until": None},
        )
    return user


def reset_password(user_id: int, password: str) -> User:
    """Set a temporary password the user must replace; unlocks and ends their sessions."""
    owner = db.get_or_404(User, user_id)
    # Judged before the write lock is taken (zxcvbn takes tens of milliseconds).
    problem = password_problem(password, (owner.email, owner.name))
    db.session.rollback()
    if problem:
        raise UserRuleBroken(problem, "password")
    with write_transaction(db.session):
        user = db.get_or_404(User, user_id)
        user.password_hash = hash_password(password)
        user.must_change_password = True
        user.failed_logins = 0
        user.locked_until = None
        user.rotate_session_token()
        audit.record(db.session, "user.password_reset", object_type=ObjectType.USER, object_id=user.id)
    return user


def reset_second_factor(user_id: int) -> User:
    """Forget a user's authenticator app and recovery codes; they enrol again, and their sessions end."""
    with write_transaction(db.session):
        user = db.get_or_404(User, user_id)
        if not second_factor.forget(user):
            raise UserRuleBroken(_("%(email)s has no second factor to reset.", email=user.email))
        user.rotate_session_token()
        audit.record(db.session, "user.second_factor_reset", object_type=ObjectType.USER, object_id=user.id)
    return user
