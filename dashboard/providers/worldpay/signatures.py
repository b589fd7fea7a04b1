"""The webhook ``Event-Signature`` header: ``{keyId}/SHA256/{hex HMAC of the raw body}`` (§1.10.4).

During key rotation the header carries several comma-separated signatures in any order,
so each is matched to its secret by keyId.
"""

from __future__ import annotations

import hashlib
import hmac

from dashboard.providers.base import ProviderConfigError
from dashboard.providers.worldpay.consts import SIGNATURE_HASH


def parse_secrets(text: str) -> dict[str, str]:
    """Parse ``"keyId:secret,keyId:secret"`` into a keyId → secret mapping."""
    secrets: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key_id, sep, secret = item.strip().partition(":")
        if not sep or not key_id or not secret:
            raise ProviderConfigError("Worldpay event secrets must read keyId:secret[,keyId:secret]")
        if key_id in secrets:
            raise ProviderConfigError(f"Worldpay event secret {key_id!r} is given twice")
        secrets[key_id] = secret
    return secrets


def _digest(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def sign_event(body: bytes, key_id: str, secret: str) -> str:
    """Return the header value Worldpay would send for ``body`` signed with one key."""
    return f"{key_id}/{SIGNATURE_HASH}/{_digest(body, secret)}"


def verify_event(body: bytes, header_value: str | None, secrets: dict[str, str]) -> bool:
    """Return True if any signature in the header, by a known keyId, matches ``body``."""
    if not isinstance(header_value, str):
        return False
    for part in header_value.split(","):
        pieces = part.strip().split("/")
        if len(pieces) != 3:
            continue
        key_id, hash_name, signature = pieces
        secret = secrets.get(key_id)
        if secret is None or hash_name.upper() != SIGNATURE_HASH or not signature.isascii():
            continue
        # The documentation does not fix the hex case, so both sides are compared in lower case.
        if hmac.compare_digest(_digest(body, secret).encode(), signature.lower().encode()):
            return True
    return False
