"""The webhook ``Event-Signature`` header: ``{keyId}/SHA256/{HMAC of the raw body}`` (§1.10.4).

During key rotation the header carries several comma-separated signatures in any order,
so each is matched to its secret by keyId. Worldpay's event signature page does not say how the
HMAC bytes are written (its Account Payouts page says hex), so both hex and base64 (standard or
URL-safe alphabet, padded or not) are accepted; either way the bytes are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from dashboard.providers.base import ProviderConfigError
from dashboard.providers.worldpay.consts import SIGNATURE_HASH
from dashboard.providers.worldpay.consts import SignatureEncoding

#: An HMAC-SHA256 written in hex: 64 hex digits (either case).
_HEX = re.compile(r"[0-9a-fA-F]{64}")
#: The same 32 bytes in base64: 43 characters of either alphabet, then an optional "=".
_BASE64 = re.compile(r"[A-Za-z0-9+/\-_]{43}=?")


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


def _digest(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def _written(digest: bytes, encoding: SignatureEncoding | str) -> str:
    if SignatureEncoding(encoding) is SignatureEncoding.BASE64:
        return base64.b64encode(digest).decode("ascii")
    return digest.hex()


def sign_event(
    body: bytes, key_id: str, secret: str, encoding: SignatureEncoding | str = SignatureEncoding.HEX
) -> str:
    """Return the header value Worldpay would send for ``body`` signed with one key."""
    return f"{key_id}/{SIGNATURE_HASH}/{_written(_digest(body, secret), encoding)}"


def _signature_bytes(written: str) -> bytes | None:
    """Return the HMAC bytes a signature is written as (hex or base64), or None if it is neither."""
    if _HEX.fullmatch(written):
        return bytes.fromhex(written)
    if _BASE64.fullmatch(written):
        standard = written.replace("-", "+").replace("_", "/").rstrip("=") + "="
        try:
            return base64.b64decode(standard, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def verify_event(body: bytes, header_value: str | None, secrets: dict[str, str]) -> bool:
    """Return True if any signature in the header, by a known keyId, matches ``body``."""
    if not isinstance(header_value, str):
        return False
    for part in header_value.split(","):
        # Split twice only: a base64 signature may itself contain "/".
        pieces = part.strip().split("/", 2)
        if len(pieces) != 3:
            continue
        key_id, hash_name, written = pieces
        secret = secrets.get(key_id)
        if secret is None or hash_name.upper() != SIGNATURE_HASH:
            continue
        presented = _signature_bytes(written)
        if presented is not None and hmac.compare_digest(_digest(body, secret), presented):
            return True
    return False
