"""The JOSE layers of HK ACH (§3, §4): the JWT client assertion and the JWE(JWS(JSON)) payload.

Both sides are here, so the client and the simulator read one definition: the client signs with
the customer's key and encrypts to the bank's; the bank (the simulator) decrypts with its own key
and verifies with the customer's public key registered beforehand.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from joserfc import jwe
from joserfc import jws
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry

from dashboard.providers.hkach import consts

#: A batch of 1,000 transfers is about half a megabyte once signed, past the library's
#: default limits (64 KB of ciphertext, 128 KB of payload); this bounds what we accept instead.
MAX_SEALED_BYTES = 4 * 1024 * 1024


def _registries() -> tuple[JWSRegistry, JWERegistry]:
    signatures = JWSRegistry(algorithms=[consts.SIGNING_ALGORITHM])
    signatures.max_payload_length = MAX_SEALED_BYTES
    encryption = JWERegistry(algorithms=[consts.KEY_ALGORITHM, consts.CONTENT_ENCRYPTION])
    encryption.max_ciphertext_length = MAX_SEALED_BYTES
    return signatures, encryption


SIGNATURES, ENCRYPTION = _registries()


class CryptoFailure(ValueError):
    """A token or payload did not decrypt, verify or parse (the bank's EC004_103)."""


def load_key(pem: str | bytes) -> RSAKey:
    """Return an RSA key (private or public) from PEM text.

    :raises ValueError: not an RSA key in PEM
    """
    try:
        return RSAKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"not an RSA key in PEM: {exc}") from None


def public_pem(key: RSAKey) -> str:
    """Return the public half of ``key`` as PEM text."""
    return key.as_pem(private=False).decode("ascii")


def client_assertion(key: RSAKey, customer_code: str, audience: str, now: datetime) -> str:
    """Return the signed JWT that asks for a token: ``sub`` the customer code in capitals."""
    issued = int(now.timestamp())
    claims = {
        "sub": customer_code.upper(),
        "aud": audience,
        "iat": issued,
        "exp": issued + consts.ASSERTION_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": consts.SIGNING_ALGORITHM, "typ": "JWT"}, claims, key)


def verify_assertion(token: str, key: RSAKey, audience: str, now: datetime) -> Mapping[str, Any]:
    """Return the claims of a client assertion that verifies with ``key`` and is valid ``now``.

    :raises CryptoFailure: bad signature or algorithm, wrong ``aud``, ``exp`` missing, past or more
        than 60 minutes ahead, ``sub`` missing or not in capitals
    """
    try:
        token_obj = jwt.decode(token, key, algorithms=[consts.SIGNING_ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise CryptoFailure(f"assertion does not verify: {exc}") from None
    claims = token_obj.claims
    stamp = int(now.timestamp())
    expires = claims.get("exp")
    if claims.get("aud") != audience:
        raise CryptoFailure(f"assertion aud is not {audience}")
    if not isinstance(expires, int) or not stamp < expires <= stamp + consts.MAX_ASSERTION_SECONDS:
        raise CryptoFailure("assertion exp is missing, past or more than 60 minutes ahead")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or subject != subject.upper():
        raise CryptoFailure("assertion sub is not the customer code in capitals")
    return claims


def seal(payload: Mapping[str, Any], signing_key: RSAKey, bank_key: RSAKey) -> str:
    """Return ``payload`` signed (JWS RS256) with our key, then encrypted (JWE) to the bank's key."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    signed = jws.serialize_compact({"alg": consts.SIGNING_ALGORITHM}, body, signing_key, registry=SIGNATURES)
    header = {"alg": consts.KEY_ALGORITHM, "enc": consts.CONTENT_ENCRYPTION, "cty": "JWT"}
    return jwe.encrypt_compact(header, signed, bank_key, registry=ENCRYPTION)


def unseal(token: str, bank_key: RSAKey, customer_keys: Collection[RSAKey]) -> Any:
    """Return the JSON inside a sealed payload: decrypt with the bank's key, verify with one of ours.

    :raises CryptoFailure: it does not decrypt, verify, or hold JSON
    """
    try:
        signed = jwe.decrypt_compact(token, bank_key, registry=ENCRYPTION)
    except (JoseError, ValueError) as exc:
        raise CryptoFailure(f"payload does not decrypt: {exc}") from None
    for key in customer_keys:
        try:
            verified = jws.deserialize_compact(signed.plaintext, key, registry=SIGNATURES)
        except (JoseError, ValueError):
            continue
        try:
            return json.loads(verified.payload)
        except ValueError:
            raise CryptoFailure("signed payload is not JSON") from None
    raise CryptoFailure("payload signature does not verify")
