"""Password hashing (argon2id) and the password rules staff see."""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l

MIN_LENGTH = 12
#: The least zxcvbn score (0-4) a new password needs; 3 is "safely unguessable" by its authors.
MIN_STRENGTH = 3
#: zxcvbn refuses longer passwords (ValueError): the estimate reads the first 72 characters, which
#: decide its verdict on any longer one anyway.
_ESTIMATED_LENGTH = 72
#: The rules as staff read them beside a new password field.
LENGTH_RULE = _l(
    "At least %(count)s characters, hard to guess: a few unrelated words work well.", count=MIN_LENGTH
)


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        params = current_app.config.get("ARGON2_PARAMETERS") or {}
        hasher = current_app.extensions["password_hasher"] = PasswordHasher(**params)
    return hasher


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when ``password`` matches; never raises on a bad hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Return why ``password`` is not acceptable, or None.

    :param personal: what is known of its owner (e-mail, name): a password built from it is weak
    """
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)s characters.", count=MIN_LENGTH)
    if password.strip() != password:
        return _("Do not start or end the password with a space.")
    # Imported here: its word lists take a tenth of a second to load, and only a new password needs them.
    from zxcvbn import zxcvbn

    known = [word for text in personal for word in re.split(r"[\s@._+-]+", text.lower()) if word]
    estimate = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=known)
    if estimate["score"] >= MIN_STRENGTH:
        return None
    if not estimate["feedback"]["warning"]:
        return _(
            "This password is too easy to guess: it follows a pattern that is quick to guess. "
            "Add a few unrelated words."
        )
    # zxcvbn words its warnings in English only.
    return _(
        "This password is too easy to guess: %(warning)s. Add a few unrelated words.",
        warning=estimate["feedback"]["warning"].rstrip("."),
    )
