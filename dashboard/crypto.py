"""Secrets at rest: Fernet encryption with ``DATA_ENCRYPTION_KEYS`` and keyed lookup hashes (DESIGN §8).

``DATA_ENCRYPTION_KEYS`` is a tuple of Fernet keys, newest first. :func:`encrypt` always uses the
newest; :func:`decrypt` accepts any listed key (``MultiFernet``), so a new key can be put in front
and the old ones kept until :func:`rotate` has re-encrypted every value.

**Lookup hashes.** An encrypted column cannot be searched, so a secret that must be found by value
(an ``accessToken`` in a ``TOKEN_CANCELED`` notification) also gets an HMAC-SHA256 column. The HMAC
key is derived from a Fernet key with HKDF (its own ``info`` label, so the HMAC never uses the
encryption or signing halves of the Fernet key directly). Each listed key yields one HMAC key:

* :func:`lookup_hash` writes with the *newest* key, like :func:`encrypt`;
* :func:`lookup_hashes` gives one hash per listed key, and a search uses ``column IN (...)``.

So rotating keys never breaks lookups: a row stays findable exactly as long as the key that wrote it
is still listed — the same condition under which its ciphertext can still be decrypted — and the
job that re-encrypts rows with :func:`rotate` re-hashes them with :func:`lookup_hash` in the same
update. No separate setting is needed and ``SECRET_KEY`` is never involved.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

#: HKDF label for the lookup-hash key; changing it changes every stored hash.
LOOKUP_INFO = b"merchant-back-office lookup hash v1"


class DecryptionError(ValueError):
    """The token was not made by any listed key, or it was altered."""


def _keys() -> tuple[str, ...]:
    keys = current_app.config["DATA_ENCRYPTION_KEYS"]
    if isinstance(keys, str):
        keys = tuple(key.strip() for key in keys.split(",") if key.strip())
    return tuple(keys)


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


@lru_cache(maxsize=32)
def _lookup_key(key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=LOOKUP_INFO)
    return hkdf.derive(base64.urlsafe_b64decode(key))


def encrypt(text: str, keys: Sequence[str] | None = None) -> str:
    """Return ``text`` encrypted with the newest key, as an ASCII Fernet token."""
    return _multi_fernet(tuple(keys or _keys())).encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str, keys: Sequence[str] | None = None) -> str:
    """Return the text of a Fernet ``token`` made with any listed key.

    :raises DecryptionError: no listed key made it, or it was altered
    """
    try:
        return _multi_fernet(tuple(keys or _keys())).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError("the value cannot be decrypted with DATA_ENCRYPTION_KEYS") from None


def rotate(token: str, keys: Sequence[str] | None = None) -> str:
    """Return ``token`` re-encrypted with the newest key (the original timestamp is kept)."""
    try:
        return _multi_fernet(tuple(keys or _keys())).rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise DecryptionError("the value cannot be decrypted with DATA_ENCRYPTION_KEYS") from None


def _hmac(key: str, value: str) -> str:
    return hmac.new(_lookup_key(key), value.encode("utf-8"), hashlib.sha256).hexdigest()


def lookup_hash(value: str, keys: Sequence[str] | None = None) -> str:
    """Return the lookup-column value of ``value`` under the newest key (64 hex characters)."""
    newest, *_older = keys or _keys()
    return _hmac(newest, value)


def lookup_hashes(value: str, keys: Sequence[str] | None = None) -> tuple[str, ...]:
    """Return ``value``'s lookup hash under every listed key, newest first, for ``column IN (...)``."""
    return tuple(_hmac(key, value) for key in (keys or _keys()))


def mask(value: str | None, visible: int = 4) -> str:
    """Return ``value`` for display: bullets and its last ``visible`` characters ("••••a1b2")."""
    if not value:
        return ""
    shown = value[-visible:] if len(value) > 2 * visible else ""
    return "••••" + shown


class EncryptedText(TypeDecorator):
    """A text column stored as a Fernet token; Python sees the plain text.

    Needs an app context (the keys live in ``current_app.config``) whenever a value is written
    or read.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else decrypt(value)


__all__ = [
    "DecryptionError",
    "EncryptedText",
    "decrypt",
    "encrypt",
    "lookup_hash",
    "lookup_hashes",
    "mask",
    "rotate",
]
