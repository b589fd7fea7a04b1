"""Antom message signatures: RSA-SHA256 over ``<METHOD> <URI>\\n<Client-Id>.<Time>.<body>``.

Per Antom's "Digital signature" page and the official SDKs (antom.md §3): PKCS#1 v1.5 with
SHA-256, standard base64, then URL-encoded, carried as
``Signature: algorithm=RSA256,keyVersion=N,signature=<value>``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from dashboard.providers.antom.consts import DEFAULT_KEY_VERSION
from dashboard.providers.antom.consts import SIGNATURE_ALGORITHM
from dashboard.providers.base import ProviderConfigError

KeySource = str | bytes | os.PathLike[str]

_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
#: The parts of a ``Signature`` header, by their lower-cased names.
_ALGORITHM, _KEY_VERSION, _SIGNATURE = "algorithm", "keyversion", "signature"


def sign_content(method: str, uri: str, client_id: str, request_time: str, body: bytes) -> bytes:
    """Return the exact bytes Antom signs: ``<METHOD> <URI>\\n<Client-Id>.<Request-Time>.<body>``."""
    return f"{method.upper()} {uri}\n{client_id}.{request_time}.".encode() + body


def sign(
    private_key: rsa.RSAPrivateKey, method: str, uri: str, client_id: str, request_time: str, body: bytes
) -> str:
    """Return the URL-encoded base64 RSA-SHA256 signature of a request or response."""
    content = sign_content(method, uri, client_id, request_time, body)
    raw = private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return quote(base64.b64encode(raw).decode("ascii"), safe="")


def build_signature_header(signature: str, key_version: int | str = DEFAULT_KEY_VERSION) -> str:
    """Return the ``Signature`` header value for an already URL-encoded signature."""
    return f"algorithm={SIGNATURE_ALGORITHM},keyVersion={key_version},signature={signature}"


def parse_signature_header(value: str) -> tuple[str, str | None, str]:
    """Split a ``Signature`` header into (algorithm, keyVersion or None, base64 signature); raise ValueError.

    Read the way Antom's SDKs read it (``webhook_tool.check_signature`` and the response parser in
    global-open-sdk-python, ``WebhookTool.checkSignature`` in the Java and Go SDKs): they take the
    value after ``signature=`` and read neither the algorithm nor the key version. So the parts may
    come in any order, with or without spaces after the commas, and ``keyVersion`` may be missing
    (Antom then means the client id's latest key; ``api_fund``). A missing ``algorithm`` is read as
    RSA256, the only one Antom documents; a named other algorithm is returned as named, for the
    caller to refuse. Parts of other names are ignored, as the SDKs ignore them; a part named twice
    is refused (which one would count?).
    """
    parts: dict[str, str] = {}
    # The URL-encoded base64 value holds no comma ('+', '/' and '=' are encoded, and a sender that
    # left them bare still sends none), so the commas split the header cleanly.
    for part in value.split(","):
        if not part.strip():
            continue
        name, equals, content = part.partition("=")
        name = name.strip().lower()
        if not equals or not name:
            raise ValueError("malformed Signature header")
        if name in parts:
            raise ValueError(f"Signature header names {name} twice")
        parts[name] = content.strip()
    encoded = parts.get(_SIGNATURE)
    if not encoded:
        raise ValueError("Signature header without a signature")
    algorithm = parts.get(_ALGORITHM) or SIGNATURE_ALGORITHM
    # unquote, not unquote_plus: a '+' left unencoded by a sender stays a base64 '+'.
    return algorithm, parts.get(_KEY_VERSION) or None, unquote(encoded)


def verify(
    public_key: rsa.RSAPublicKey,
    method: str,
    uri: str,
    client_id: str,
    request_time: str,
    body: bytes,
    signature_header: str | None,
) -> bool:
    """Return True only if ``signature_header`` is a valid RSA256 signature of the content."""
    try:
        algorithm, _key_version, encoded = parse_signature_header(signature_header or "")
        if algorithm != SIGNATURE_ALGORITHM:
            return False
        raw = base64.b64decode(encoded, validate=True)
        content = sign_content(method, uri, client_id, request_time, body)
        public_key.verify(raw, content, padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, TypeError, binascii.Error, InvalidSignature):
        return False
    return True


def verify_notification(
    public_key: rsa.RSAPublicKey,
    notify_path: str,
    client_id: str,
    request_time: str,
    body: bytes,
    signature_header: str | None,
) -> bool:
    """Verify a notification Antom POSTed to ``notify_path`` (the public path, domain excluded)."""
    return verify(public_key, "POST", notify_path, client_id, request_time, body, signature_header)


def _read_source(source: KeySource) -> bytes:
    if isinstance(source, os.PathLike):
        return _read_file(Path(source))
    data = source.encode() if isinstance(source, str) else source
    if b"-----BEGIN" in data or b"\n" in data.strip():
        return data
    try:
        candidate = Path(os.fsdecode(data.strip()))
        is_file = candidate.is_file()
    except (OSError, ValueError):
        is_file = False
    return _read_file(candidate) if is_file else data


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProviderConfigError(f"cannot read key file {path}: {exc.strerror}") from None


def _der(data: bytes, kind: str) -> bytes:
    if not _BASE64_TEXT.match(data):
        raise ProviderConfigError(f"{kind} is neither PEM text, a PEM file path nor base64 DER")
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except binascii.Error:
        raise ProviderConfigError(f"{kind} is not valid base64") from None


def _load(source: KeySource, what: str, load_pem: Callable, load_der: Callable, key_type: type) -> Any:
    data = _read_source(source)
    try:
        key = load_pem(data) if b"-----BEGIN" in data else load_der(_der(data, what))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ProviderConfigError(f"cannot load {what}: {exc}") from None
    if not isinstance(key, key_type):
        raise ProviderConfigError(f"{what} must be an RSA key")
    return key


def load_private_key(source: KeySource | rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    """Load the merchant's RSA private key from PEM text, a PEM file path or bare base64 DER."""
    if isinstance(source, rsa.RSAPrivateKey):
        return source
    return _load(
        source,
        "the Antom merchant private key",
        partial(serialization.load_pem_private_key, password=None),
        partial(serialization.load_der_private_key, password=None),
        rsa.RSAPrivateKey,
    )


def load_public_key(source: KeySource | rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    """Load Antom's RSA public key from PEM text, a PEM file path or bare base64 DER."""
    if isinstance(source, rsa.RSAPublicKey):
        return source
    return _load(
        source,
        "the Antom public key",
        serialization.load_pem_public_key,
        serialization.load_der_public_key,
        rsa.RSAPublicKey,
    )
