"""Password hashing (argon2id) and the password rules staff see."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import current_app

MIN_LENGTH = 12
#: The length rule as staff read it beside a new password field.
LENGTH_RULE = f"At least {MIN_LENGTH} characters."


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


def password_problem(password: str) -> str | None:
    """Return why ``password`` is not acceptable, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if password.strip() != password:
        return "Do not start or end the password with a space."
    return None
