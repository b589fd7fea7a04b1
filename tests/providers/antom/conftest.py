"""Keys, a fixed clock and an independent Antom signer for the Antom client tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from urllib.parse import unquote_plus

import pytest
import responses
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa

from dashboard.providers.antom import AntomClient

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "antom"


@dataclass(frozen=True)
class Wire:
    """The fixed values every client test talks with."""

    base_url: str = "https://open-sea-global.alipay.com"
    client_id: str = "2188120012345678"
    now: datetime = datetime(2026, 1, 5, 2, 0, 0, 123000, tzinfo=UTC)
    now_millis: str = "1767578400123"
    response_time: str = "2026-01-05T10:00:01+08:00"


WIRE = Wire()


class Reference:
    """The documented signing algorithm, written apart from the code under test."""

    @staticmethod
    def content(method: str, uri: str, client_id: str, moment: str, body: bytes) -> bytes:
        """Build ``<METHOD> <URI>\\n<Client-Id>.<time>.<body>``."""
        return b"".join(
            [
                method.encode(),
                b" ",
                uri.encode(),
                b"\n",
                client_id.encode(),
                b".",
                moment.encode(),
                b".",
                body,
            ]
        )

    @staticmethod
    def sign(key: rsa.RSAPrivateKey, content: bytes) -> str:
        """Sign: RSA-SHA256 PKCS#1 v1.5, standard base64, URL-encoded."""
        raw = key.sign(content, padding.PKCS1v15(), hashes.SHA256())
        return quote(base64.b64encode(raw).decode(), safe="")

    @staticmethod
    def verify(key: rsa.RSAPublicKey, content: bytes, header: str) -> bool:
        """Verify a Signature header the way the official SDKs do (split on 'signature=')."""
        encoded = header.split("signature=", 1)[1]
        try:
            key.verify(base64.b64decode(unquote_plus(encoded)), content, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


@pytest.fixture(scope="session")
def reference() -> type[Reference]:
    return Reference


@pytest.fixture(scope="session")
def wire() -> Wire:
    return WIRE


@pytest.fixture(scope="session")
def merchant_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def antom_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def antom_client(merchant_key: rsa.RSAPrivateKey, antom_key: rsa.RSAPrivateKey) -> AntomClient:
    return AntomClient(
        WIRE.base_url,
        WIRE.client_id,
        merchant_key,
        antom_key.public_key(),
        notify_url="https://merchant.example.hk/antom/notify",
        clock=lambda: WIRE.now,
    )


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def payload() -> Callable[[str], bytes]:
    def load(name: str) -> bytes:
        return (PAYLOADS / f"{name}.json").read_bytes()

    return load


@pytest.fixture
def antom_reply(mocked: responses.RequestsMock, antom_key: rsa.RSAPrivateKey) -> Callable[..., None]:
    """Register a signed Antom answer for a path, signed with the independent reference signer."""

    def reply(
        path: str,
        body: bytes | dict,
        *,
        status: int = 200,
        client_id: str = WIRE.client_id,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = json.dumps(body, indent=2).encode() if isinstance(body, dict) else body
        value = signature or Reference.sign(
            antom_key, Reference.content("POST", path, client_id, WIRE.response_time, raw)
        )
        reply_headers = {
            "client-id": client_id,
            "response-time": WIRE.response_time,
            "signature": f"algorithm=RSA256,keyVersion=1,signature={value}",
        }
        mocked.add(
            responses.POST,
            WIRE.base_url + path,
            body=raw,
            status=status,
            headers=headers if headers is not None else reply_headers,
            content_type="application/json",
        )

    return reply
