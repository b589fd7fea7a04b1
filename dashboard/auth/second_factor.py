"""The second factor: TOTP enrolment (RFC 6238), codes at sign-in and step-up, recovery codes, reset.

A code is accepted for the current 30-second time step or one step either side (clock drift), and
only for a step later than the last one accepted for that user, so a code seen over a shoulder or
in a proxy log cannot be used again (RFC 6238 §5.2). Every wrong code counts toward the lockout
like a wrong password (:func:`dashboard.auth.service.count_failure`).

The session remembers when the user last gave a code (:data:`CHECKED_AT`); a money-moving form asks
for a fresh one when that is older than ``STEP_UP_MINUTES``.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app
from flask import session
from flask_babel import LazyString
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from dashboard import clock
from dashboard import crypto
from dashboard.audit import service as audit
from dashboard.auth.models import RecoveryCode
from dashboard.auth.models import SecondFactor
from dashboard.auth.models import is_enrolled
from dashboard.auth.service import AccountLocked
from dashboard.auth.service import complete_login
from dashboard.auth.service import count_failure
from dashboard.auth.service import record_own
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.users.models import SignedIn
from dashboard.users.models import User

#: Seconds per time step (RFC 6238's default, and what every authenticator app uses).
STEP_SECONDS = 30
#: Digits of a code (RFC 6238's default).
CODE_DIGITS = 6
#: Steps either side of now whose code is still accepted.
DRIFT_STEPS = 1
#: How many recovery codes an enrolment makes.
RECOVERY_CODE_COUNT = 10
#: Letters and digits of a recovery code: no 0/o, 1/l/i, so it reads back without doubt (~50 bits).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
#: The name an authenticator app shows beside the user's e-mail.
ISSUER = "Merchant back office"
#: Session key: when the user last gave a right code (epoch seconds).
CHECKED_AT = "second_factor_at"
#: Session key: a sign-in whose password was right, waiting for the code.
PENDING = "sign_in_pending"
#: Minutes the code step of a sign-in waits before the password is asked again.
PENDING_MINUTES = 5

WRONG_CODE = _l("That code is wrong or was used already. Enter the code your app shows now.")
MISSING_CODE = _l("Enter the 6-digit code from your authenticator app.")
LOCKED = _l("The account is locked after too many wrong attempts: try again later.")


class CodeRejected(ValueError):
    """The code is missing, wrong, or already used; nothing was done."""

    def __init__(self, message: str | LazyString):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text, as an otpauth URI and as a QR code."""

    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """Return the secret in groups of four, easier to type into an app."""
        return " ".join(self.secret[start : start + 4] for start in range(0, len(self.secret), 4))

    @property
    def qr_svg(self) -> Markup:
        """Return the URI as an inline SVG QR code (no script, no style: the CSP stays strict)."""
        svg = segno.make(self.uri, error="m").svg_inline(
            scale=5, border=4, dark="#000", light="#fff", title=_("QR code of your authenticator secret")
        )
        return Markup(svg)  # noqa: S704 - segno writes path data and our fixed title, nothing typed


def is_required(user: SignedIn) -> bool:
    """Return True when ``user``'s role must have a second factor (``TWO_FACTOR_REQUIRED_ROLES``)."""
    return user.role in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def must_enrol(user: SignedIn) -> bool:
    """Return True when ``user`` must enrol before doing anything else."""
    return is_required(user) and not user.second_factor_enrolled


def _step(offset: int = 0) -> int:
    return int(clock.now().timestamp()) // STEP_SECONDS + offset


def _digits(code: str) -> str:
    return re.sub(r"\s+", "", code)


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """Return the time step ``code`` belongs to (now ±1, later than ``last_step``), or None."""
    totp = pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        step = _step(offset)
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrolment(user: User | SignedIn) -> Enrolment:
    """Return the pending secret of ``user`` (made now if none is pending) for the enrolment page."""
    with write_transaction(db.session):
        factor = db.session.get(SecondFactor, user.id)
        if factor is None:
            factor = SecondFactor(user_id=user.id, secret=pyotp.random_base32())
            db.session.add(factor)
        secret = factor.secret
    uri = pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )
    return Enrolment(secret, uri)


def confirm_enrolment(user: User | SignedIn, code: str) -> list[str]:
    """Enrol ``user`` once ``code`` proves their app holds the pending secret; return the recovery codes.

    The codes are returned once, here; only their keyed hashes are kept.

    :raises CodeRejected: the code is missing or wrong (a wrong one counts toward the lockout)
    :raises AccountLocked: that wrong code locked the account; its sessions have ended
    """
    with write_transaction(db.session):
        # Locked and read afresh: two wrong passwords or codes at once must both count.
        user = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
        factor = _locked_factor(user.id)
        if factor is None or factor.confirmed_at is not None:
            raise CodeRejected(_("This enrolment is over: open the page again."))
        step = _checked_step(user, factor, code, "auth.enrol_failed")
        factor.confirmed_at = clock.now()
        factor.last_step = step
        codes = _new_recovery_codes(user.id)
        audit.record(
            db.session, "auth.second_factor_enrolled", object_type=ObjectType.USER, object_id=user.id
        )
    mark_checked()
    return codes


def _locked_factor(user_id: int) -> SecondFactor | None:
    """Return ``user_id``'s factor, its row locked (PostgreSQL) so two requests never both accept one code."""
    return db.session.get(SecondFactor, user_id, with_for_update=True)


def _checked_step(user: User, factor: SecondFactor, code: str, failure: str) -> int:
    """Return the step of a right ``code``; count and audit a wrong one as ``failure``."""
    digits = _digits(code)
    if not digits:
        raise CodeRejected(MISSING_CODE)
    if user.is_locked():
        record_own(user, failure, {"reason": "locked"})
        db.session.commit()
        raise CodeRejected(LOCKED)
    well_formed = digits.isdigit() and len(digits) == CODE_DIGITS
    step = _matching_step(factor.secret, digits, factor.last_step) if well_formed else None
    if step is None:
        _count_wrong_code(user, failure)
    return step


def _count_wrong_code(user: User, failure: str) -> None:
    """Count a wrong code; at the limit end every session of the user and raise AccountLocked."""
    if count_failure(user, failure):
        user.rotate_session_token()
        db.session.commit()
        raise AccountLocked()
    db.session.commit()
    raise CodeRejected(WRONG_CODE)


def _new_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _code in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        db.session.add(RecoveryCode(user_id=user_id, code_hash=crypto.lookup_hash(raw)))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def _recovery_code(user_id: int, typed: str) -> RecoveryCode | None:
    """Return the unused recovery code ``typed`` names (spaces, dashes and case ignored), or None."""
    normal = re.sub(r"[\s-]+", "", typed).lower()
    if len(normal) != RECOVERY_CODE_LENGTH:
        return None
    return db.session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash.in_(crypto.lookup_hashes(normal)),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )


def recovery_codes_left(user_id: int) -> int:
    """Return how many unused recovery codes ``user_id`` has."""
    unused = select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return db.session.scalar(unused)


# --- sign-in --------------------------------------------------------------------------------------


def start_sign_in(user: User, next_path: str | None) -> None:
    """Remember a sign-in whose password was right; the session is not signed in yet."""
    # A code given in an earlier sign-in of this browser (perhaps another user's) counts for nothing.
    session.pop(CHECKED_AT, None)
    session[PENDING] = {
        "user": user.id,
        "token": user.session_token,
        "at": clock.now().timestamp(),
        "next": next_path,
    }


def pending_sign_in() -> tuple[User, str | None] | None:
    """Return the user waiting to give a code and where they were going, or None (absent or expired)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if clock.now().timestamp() - pending.get("at", 0) > PENDING_MINUTES * 60:
        session.pop(PENDING, None)
        return None
    user = db.session.get(User, pending.get("user"))
    # A password changed, a role changed or a reset since the password was typed ends the attempt.
    if user is None or not user.active or user.session_token != pending.get("token"):
        session.pop(PENDING, None)
        return None
    return user, pending.get("next")


def finish_sign_in(user: User, code: str) -> User:
    """Sign in the pending ``user`` with a TOTP code or an unused recovery code.

    :raises CodeRejected: missing or wrong (a wrong one counts toward the lockout)
    :raises AccountLocked: that wrong code locked the account
    """
    with write_transaction(db.session):
        # Locked and read afresh: two wrong passwords or codes at once must both count.
        user = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
        factor = _locked_factor(user.id)
        recovery = None if user.is_locked() else _recovery_code(user.id, code)
        if recovery is not None:
            recovery.used_at = clock.now()
            db.session.flush()
            record_own(user, "auth.recovery_code_used", {"left": recovery_codes_left(user.id)})
            complete_login(user, "recovery code")
        else:
            factor.last_step = _checked_step(user, factor, code, "auth.second_factor_failed")
            complete_login(user, "code")
    session.pop(PENDING, None)
    if recovery is None:
        # Only the app's code counts as fresh for a step-up; a recovery code signs in, no more.
        mark_checked()
    return user


# --- step-up --------------------------------------------------------------------------------------


def mark_checked() -> None:
    """Record in the session that the user gave a right code now."""
    session[CHECKED_AT] = clock.now().timestamp()


def step_up_due() -> bool:
    """Return True when the signed-in user has a second factor and last gave a code too long ago."""
    if not current_user.is_authenticated or not is_enrolled(current_user.id):
        return False
    age = clock.now().timestamp() - session.get(CHECKED_AT, 0)
    return age > current_app.config["STEP_UP_MINUTES"] * 60


def step_up(code: str) -> None:
    """Check a fresh code of the signed-in user before money moves; mark the session checked.

    :raises CodeRejected: missing or wrong (a wrong one counts toward the lockout)
    :raises AccountLocked: that wrong code locked the account and ended its sessions
    """
    with write_transaction(db.session):
        # Locked and read afresh: two wrong codes at once must both count.
        user = db.session.get(User, current_user.id, with_for_update=True, populate_existing=True)
        factor = _locked_factor(user.id)
        factor.last_step = _checked_step(user, factor, code, "auth.step_up_failed")
    mark_checked()


# --- reset ----------------------------------------------------------------------------------------


def forget(user: User) -> bool:
    """Delete ``user``'s second factor and recovery codes in the caller's transaction.

    :returns: whether there was an enrolled factor to forget
    """
    factor = db.session.get(SecondFactor, user.id)
    enrolled = factor is not None and factor.confirmed_at is not None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
    return enrolled
