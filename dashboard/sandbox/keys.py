"""The sandbox's own keys and secrets under ``<INSTANCE_PATH>/sandbox/``, created once and atomically.

``antom_private_key.pem`` (the simulator signs responses and notifications as "Antom"),
``merchant_private_key.pem`` (the dashboard's client signs requests with it in sandbox mode, so
the client needs no configuration), ``worldpay_credentials.json`` (the Worldpay username,
password and webhook secret) and the HK ACH files: ``hkach_customer_private_key.pem`` (the
client signs its assertion and payloads with it), ``hkach_bank_private_key.pem`` with its public
half ``hkach_bank_public_key.pem`` (payloads are encrypted to it) and ``hkach_credentials.json``
(customer code and API key). Each is written to a private temporary file
opened with ``O_EXCL`` and then hard-linked to its final name; ``link`` fails when the name
exists, so two processes starting at once end up reading the same single copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ANTOM_KEY_FILE = "antom_private_key.pem"
MERCHANT_KEY_FILE = "merchant_private_key.pem"
WORLDPAY_CREDENTIALS_FILE = "worldpay_credentials.json"
HKACH_CUSTOMER_KEY_FILE = "hkach_customer_private_key.pem"
HKACH_BANK_KEY_FILE = "hkach_bank_private_key.pem"
HKACH_BANK_PUBLIC_KEY_FILE = "hkach_bank_public_key.pem"
HKACH_CREDENTIALS_FILE = "hkach_credentials.json"


@dataclass(frozen=True)
class KeyPair:
    """A private key and the PEM text of its public half."""

    private_key: rsa.RSAPrivateKey
    private_pem: str
    public_pem: str

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        """Return the public key object."""
        return self.private_key.public_key()


@dataclass(frozen=True)
class SandboxKeys:
    """The simulator's "Antom" key pair and the merchant key pair the client uses."""

    antom: KeyPair
    merchant: KeyPair


def public_pem(key: rsa.RSAPublicKey) -> str:
    """Return ``key`` as SubjectPublicKeyInfo PEM text."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _new_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_file(path: Path, make: Callable[[], bytes]) -> str:
    """Return the text stored at ``path``, writing ``make()`` there exactly once (private, atomic)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            # Another process may have won the race: then its file stays and ours is dropped.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text()


def ensure_key(path: Path) -> KeyPair:
    """Return the key pair stored at ``path``, creating it exactly once."""
    text = ensure_file(path, _new_private_pem)
    # The sandbox made this key itself, in a file only its user reads: OpenSSL's RSA consistency
    # check (about 50 ms a key, at every start) has nothing to find.
    key = serialization.load_pem_private_key(
        text.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    return KeyPair(key, text, public_pem(key.public_key()))


def ensure_keys(instance_path: str | Path) -> SandboxKeys:
    """Return (creating if needed) both sandbox key pairs of an instance folder."""
    folder = Path(instance_path) / "sandbox"
    return SandboxKeys(
        antom=ensure_key(folder / ANTOM_KEY_FILE), merchant=ensure_key(folder / MERCHANT_KEY_FILE)
    )


def _new_worldpay_credentials() -> bytes:
    data = {
        "username": "sandbox-" + secrets.token_hex(6),
        "password": secrets.token_urlsafe(24),
        "webhook_secrets": "1:" + secrets.token_hex(32),
    }
    return json.dumps(data, indent=2).encode()


def worldpay_credentials(instance_path: str | Path) -> dict[str, str]:
    """Return (creating once, atomically) the Worldpay simulator's credentials and webhook secret."""
    path = Path(instance_path) / "sandbox" / WORLDPAY_CREDENTIALS_FILE
    return json.loads(ensure_file(path, _new_worldpay_credentials))


@dataclass(frozen=True)
class HkachKeys:
    """The HK ACH simulator's files: the bank's key pair, the customer's, and the credentials."""

    bank: KeyPair
    customer: KeyPair
    customer_key_path: Path
    bank_public_key_path: Path
    customer_code: str
    api_key: str


def _new_hkach_credentials() -> bytes:
    data = {"customer_code": "SANDBOX" + secrets.token_hex(3).upper(), "api_key": secrets.token_urlsafe(24)}
    return json.dumps(data, indent=2).encode()


def hkach_keys(instance_path: str | Path) -> HkachKeys:
    """Return (creating each once, atomically) the HK ACH simulator's keys and credentials."""
    folder = Path(instance_path) / "sandbox"
    bank = ensure_key(folder / HKACH_BANK_KEY_FILE)
    bank_public_path = folder / HKACH_BANK_PUBLIC_KEY_FILE
    ensure_file(bank_public_path, lambda: bank.public_pem.encode())
    credentials = json.loads(ensure_file(folder / HKACH_CREDENTIALS_FILE, _new_hkach_credentials))
    return HkachKeys(
        bank=bank,
        customer=ensure_key(folder / HKACH_CUSTOMER_KEY_FILE),
        customer_key_path=folder / HKACH_CUSTOMER_KEY_FILE,
        bank_public_key_path=bank_public_path,
        customer_code=credentials["customer_code"],
        api_key=credentials["api_key"],
    )
