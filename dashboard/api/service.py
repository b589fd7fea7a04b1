"""API keys: create (the secret shown once), revoke, and check the key a request presents.

A secret reads ``bo_live_<random>`` or, made by a sandbox, ``bo_test_<random>``, so a leaked key
is recognised at a glance; only its HMAC-SHA256 under ``API_KEY_SECRET`` is stored, which finds
it again in one index look-up. Creating, revoking and every refused use are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.api.models import SCOPES
from dashboard.api.models import ApiKey
from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.i18n import gettext as _

LIVE_PREFIX = "bo_live_"
TEST_PREFIX = "bo_test_"
#: How much of a secret lists show: the marker and four random characters.
SHOWN_CHARACTERS = len(LIVE_PREFIX) + 4
#: How stale "last used" may be before a call records it again (most calls then write nothing).
LAST_USED_PRECISION = timedelta(minutes=1)


class KeyRuleBroken(ValueError):
    """A key cannot be made or revoked as asked (the message says why, for the form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewKey:
    """A key just made, with its secret: shown once, never stored."""

    key: ApiKey
    secret: str


def secret_hash(secret: str) -> str:
    """Return the stored form of ``secret``: HMAC-SHA256 under ``API_KEY_SECRET``, hex."""
    server_secret = current_app.config["API_KEY_SECRET"].encode()
    return hmac.new(server_secret, secret.encode(), hashlib.sha256).hexdigest()


def create_key(
    name: str, scopes: Iterable[str], expires_at: datetime | None, *, actor_id: int | None
) -> NewKey:
    """Make a key for this install (``bo_test_`` in a sandbox, else ``bo_live_``); audit it.

    :param scopes: some of :data:`~dashboard.api.models.SCOPES`
    :param expires_at: when it stops working (None: never), in the future
    :raises KeyRuleBroken: no scopes, an unknown scope, an empty name or a past expiry
    """
    granted = [scope for scope in SCOPES if scope in set(scopes)]
    if not granted or len(granted) != len(set(scopes)):
        raise KeyRuleBroken(_("Choose at least one of the listed scopes."), "scopes")
    if not name.strip():
        raise KeyRuleBroken(_("Name the key after what uses it."), "name")
    if expires_at is not None and expires_at <= clock.now():
        raise KeyRuleBroken(_("Choose an expiry in the future, or none."), "expires_at")
    sandbox = bool(current_app.config["SANDBOX"])
    secret = (TEST_PREFIX if sandbox else LIVE_PREFIX) + secrets.token_urlsafe(32)
    with write_transaction(db.session) as session:
        key = ApiKey(
            name=name.strip(),
            prefix=secret[:SHOWN_CHARACTERS],
            secret_hash=secret_hash(secret),
            scopes=" ".join(granted),
            sandbox=sandbox,
            created_by_id=actor_id,
            expires_at=expires_at,
        )
        session.add(key)
        session.flush()
        audit.record(
            session,
            "api_key.created",
            object_type=ObjectType.API_KEY,
            object_id=key.id,
            after={"name": key.name, "prefix": key.prefix, "scopes": granted, "expires_at": expires_at},
        )
    return NewKey(key, secret)


def revoke_key(key_id: int, *, actor_id: int | None) -> ApiKey:
    """Revoke a key at once: every later call with it is refused (401). Audited.

    :raises KeyRuleBroken: no such key, or it is revoked already
    """
    with write_transaction(db.session) as session:
        key = locked(session, ApiKey, key_id)
        if key is None:
            raise KeyRuleBroken(_("There is no such key."))
        if key.revoked_at is not None:
            raise KeyRuleBroken(_("%(prefix)s… is revoked already.", prefix=key.prefix))
        key.revoked_at, key.revoked_by_id = clock.now(), actor_id
        audit.record(
            session,
            "api_key.revoked",
            object_type=ObjectType.API_KEY,
            object_id=key.id,
            after={"name": key.name, "prefix": key.prefix},
        )
    return key


def keys(session: Session) -> list[ApiKey]:
    """Return every key, newest first (the admin page lists them all: a merchant has a handful)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


class KeyRefused(Exception):
    """The request's key is not accepted; ``reason`` is one word for the audit log and the problem."""

    def __init__(self, reason: str, key: ApiKey | None = None):
        super().__init__(reason)
        self.reason = reason
        self.key = key


def authenticate(presented: str | None, address: str | None) -> ApiKey:
    """Return the key ``presented`` (a bearer secret) names, after recording its use.

    :raises KeyRefused: none given (``missing``), none such (``unknown``), a test key on a live
        install or the other way round (``wrong_environment``), ``revoked`` or ``expired``
    """
    if not presented:
        raise KeyRefused("missing")
    key = db.session.scalar(select(ApiKey).where(ApiKey.secret_hash == secret_hash(presented)))
    if key is None:
        raise KeyRefused("unknown")
    if key.sandbox != bool(current_app.config["SANDBOX"]):
        raise KeyRefused("wrong_environment", key)
    now = clock.now()
    refusal = key.refusal(now)
    if refusal is not None:
        raise KeyRefused(refusal, key)
    if (
        key.last_used_ip != address
        or key.last_used_at is None
        or now - key.last_used_at > LAST_USED_PRECISION
    ):
        key_id = key.id
        with write_transaction(db.session) as session:
            key = session.get(ApiKey, key_id)
            key.last_used_at, key.last_used_ip = now, address
    return key


def record_refusal(refused: KeyRefused, method: str, path: str, scope: str | None = None) -> None:
    """Audit a refused call: which key (when one was recognised), why, and what it asked for."""
    key = refused.key
    db.session.rollback()
    with write_transaction(db.session) as session:
        audit.record(
            session,
            "api_key.refused",
            object_type=ObjectType.API_KEY,
            object_id=key.id if key is not None else None,
            after={
                "reason": refused.reason,
                "prefix": key.prefix if key is not None else None,
                "method": method,
                "path": path,
                "scope": scope,
            },
            actor_label=f"api-key:{key.prefix}" if key is not None else "api-key:unknown",
        )
