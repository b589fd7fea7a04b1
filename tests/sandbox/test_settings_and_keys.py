"""Sandbox start-up: keys made once, client defaults, mismatches refused, request checks."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dashboard import create_app
from dashboard.config import ConfigError
from dashboard.extensions import db
from dashboard.providers.antom import AntomClient
from dashboard.providers.antom.settings import DEFAULT_SANDBOX_CLIENT_ID
from dashboard.providers.antom.settings import from_app
from dashboard.providers.base import CallOutcome
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import ProviderUnverified
from dashboard.sandbox.keys import ensure_key
from dashboard.sandbox.keys import ensure_keys
from dashboard.sandbox.store import SandboxBase
from tests.conftest import test_settings


def sandbox_app(tmp_path: Path, **extra):
    return create_app(test_settings(tmp_path, SANDBOX=True, **extra))


def test_keys_are_created_once_even_by_racing_threads(tmp_path):
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_key(tmp_path / "k.pem"))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({pair.public_pem for pair in results}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]
    assert ensure_keys(tmp_path).antom.public_pem != ensure_keys(tmp_path).merchant.public_pem


def test_client_defaults_come_from_the_sandbox(tmp_path):
    app = sandbox_app(tmp_path, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    client = from_app(app)

    assert client.base_url == "http://127.0.0.1:5000/sandbox/antom"
    assert client.client_id == DEFAULT_SANDBOX_CLIENT_ID and client.is_sandbox
    assert client.notify_url == "http://127.0.0.1:5000/webhooks/antom"
    assert (tmp_path / "instance" / "sandbox.db").exists()
    assert (tmp_path / "instance" / "sandbox" / "antom_private_key.pem").exists()


def test_matching_settings_are_accepted(tmp_path):
    keys = ensure_keys(tmp_path / "instance")
    app = sandbox_app(
        tmp_path,
        ANTOM_PUBLIC_KEY=keys.antom.public_pem,
        ANTOM_PRIVATE_KEY=str(tmp_path / "instance" / "sandbox" / "merchant_private_key.pem"),
        ANTOM_BASE_URL="http://127.0.0.1:5001/sandbox/antom",
    )
    assert from_app(app).base_url == "http://127.0.0.1:5001/sandbox/antom"


def _other_key_pem(private: bool) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANTOM_PUBLIC_KEY", "public"),
        ("ANTOM_PRIVATE_KEY", "private"),
        ("ANTOM_BASE_URL", "https://open-sea-global.alipay.com"),
        ("ANTOM_CLIENT_ID", "2188120012345678"),
    ],
)
def test_a_setting_that_does_not_match_the_sandbox_stops_start_up(tmp_path, name, value):
    if value in {"public", "private"}:
        value = _other_key_pem(value == "private")

    with pytest.raises(ConfigError, match=name):
        sandbox_app(tmp_path, **{name: value})


def test_without_sandbox_the_client_needs_its_settings(app):
    with pytest.raises(ProviderConfigError, match="ANTOM_BASE_URL"):
        from_app(app)


def test_sandbox_tables_stay_out_of_the_apps_metadata():
    assert not set(SandboxBase.metadata.tables) & set(db.metadata.tables)


def test_the_sandbox_command_is_registered(tmp_path):
    assert "sandbox" in sandbox_app(tmp_path).cli.list_commands(None)


def test_public_key_download_is_the_simulators(sandbox):
    answer = requests.get(f"{sandbox.url}/sandbox/antom/public-key", timeout=5)
    assert answer.text == sandbox.sandbox.keys.antom.public_pem


# -- request checks: signature, client id, key version, path -----------------------------------


def test_a_request_signed_with_another_key_is_invalid_signature(sandbox):
    settings = sandbox.sandbox.antom
    stranger = AntomClient(settings.base_url, settings.client_id, _other_key_pem(True), settings.public_key)
    result = stranger.revoke("anything")
    assert (result.outcome, result.result_code) == (CallOutcome.FAILED, "INVALID_SIGNATURE")


def test_unknown_client_id_and_key_version(sandbox):
    settings = sandbox.sandbox.antom
    other_id = AntomClient(settings.base_url, "SANDBOX_OTHER", settings.private_key, settings.public_key)
    other_version = AntomClient(
        settings.base_url, settings.client_id, settings.private_key, settings.public_key, key_version=7
    )

    # The simulator signs its answer for its own client id, so a stranger cannot verify it.
    with pytest.raises(ProviderUnverified):
        other_id.revoke("anything")
    assert other_version.revoke("anything").result_code == "KEY_NOT_FOUND"


def test_a_request_without_key_version_uses_the_latest_key(sandbox):
    settings = sandbox.sandbox.antom
    from dashboard.providers.antom import signatures

    key = signatures.load_private_key(settings.private_key)
    path, body = "/ams/api/v1/authorizations/revoke", b'{"accessToken":"nothing-like-it"}'
    value = signatures.sign(key, "POST", f"/sandbox/antom{path}", settings.client_id, "1767578400123", body)
    headers = {"Client-Id": settings.client_id, "Request-Time": "1767578400123"}

    without = _raw_post(sandbox, path, body, {**headers, "Signature": f"signature={value},algorithm=RSA256"})
    other = _raw_post(sandbox, path, body, {**headers, "Signature": f"keyVersion=7,signature={value}"})

    # Verified and processed: the token is unknown, which is the revoke's own answer.
    assert json.loads(without.content)["result"]["resultCode"] == "INVALID_ACCESS_TOKEN"
    assert json.loads(other.content)["result"]["resultCode"] == "KEY_NOT_FOUND"


def _raw_post(sandbox, path: str, body: bytes, headers: dict[str, str]):
    return requests.post(f"{sandbox.url}/sandbox/antom{path}", data=body, headers=headers, timeout=5)


def test_missing_signature_unknown_api_and_bad_json(sandbox):
    settings = sandbox.sandbox.antom
    from dashboard.providers.antom import signatures

    key = signatures.load_private_key(settings.private_key)

    def signed(path: str, body: bytes) -> dict[str, str]:
        uri = f"/sandbox/antom{path}"
        value = signatures.sign(key, "POST", uri, settings.client_id, "1767578400123", body)
        return {
            "Client-Id": settings.client_id,
            "Request-Time": "1767578400123",
            "Signature": signatures.build_signature_header(value),
        }

    unsigned = _raw_post(
        sandbox, "/ams/api/v1/payments/pay", b"{}", {"Client-Id": settings.client_id, "Request-Time": "1"}
    )
    unknown = _raw_post(
        sandbox, "/ams/api/v1/payments/nothing", b"{}", signed("/ams/api/v1/payments/nothing", b"{}")
    )
    bad_json = _raw_post(
        sandbox, "/ams/api/v1/payments/pay", b"{not json", signed("/ams/api/v1/payments/pay", b"{not json")
    )
    empty = _raw_post(sandbox, "/ams/api/v1/payments/pay", b"{}", signed("/ams/api/v1/payments/pay", b"{}"))

    codes = [json.loads(r.content)["result"]["resultCode"] for r in (unsigned, unknown, bad_json, empty)]
    assert codes == ["INVALID_SIGNATURE", "NO_INTERFACE_DEF", "PARAM_ILLEGAL", "PARAM_ILLEGAL"]
    assert all(r.status_code == 200 and r.headers["Signature"] for r in (unsigned, unknown, bad_json, empty))
