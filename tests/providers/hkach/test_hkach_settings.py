"""HK ACH settings: read only when enabled, one-line start-up errors, sandbox keys made once."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard.config import ConfigError
from dashboard.config import load_settings
from dashboard.providers.hkach.jose import load_key
from dashboard.providers.hkach.jose import public_pem
from dashboard.providers.hkach.settings import from_app
from dashboard.providers.registry import check_settings
from dashboard.sandbox.keys import hkach_keys
from tests.conftest import test_settings

FULL = {
    "HKACH_ENABLED": True,
    "HKACH_BASE_URL": "https://api.fileactive.uat.anzgcis.com",
    "HKACH_CUSTOMER_CODE": "acme01",
    "HKACH_API_KEY": "key-1",
    "HKACH_DEBTOR_NAME": "ACME LIMITED",
    "HKACH_DEBTOR_ACCOUNT": "12345678901",
}


def real_settings(tmp_path: Path, **changes: object) -> dict:
    keys = hkach_keys(tmp_path / "keys")
    settings = {
        **FULL,
        "HKACH_PRIVATE_KEY_PATH": str(keys.customer_key_path),
        "HKACH_BANK_PUBLIC_KEY_PATH": str(keys.bank_public_key_path),
        **changes,
    }
    return test_settings(tmp_path, **settings)


def test_keys_and_credentials_are_made_once_even_by_racing_threads(tmp_path):
    made = []
    threads = [threading.Thread(target=lambda: made.append(hkach_keys(tmp_path))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({(k.bank.private_pem, k.customer.private_pem, k.customer_code, k.api_key) for k in made}) == 1
    folder = tmp_path / "sandbox"
    assert sorted(p.name for p in folder.iterdir()) == [
        "hkach_bank_private_key.pem",
        "hkach_bank_public_key.pem",
        "hkach_credentials.json",
        "hkach_customer_private_key.pem",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    keys = made[0]
    assert keys.bank_public_key_path.read_text() == public_pem(load_key(keys.bank.private_pem))


def test_with_the_sandbox_nothing_needs_setting(tmp_path):
    app = create_app(test_settings(tmp_path, SANDBOX=True, PUBLIC_BASE_URL="http://127.0.0.1:5000"))
    client = from_app(app)
    keys = hkach_keys(tmp_path / "instance")
    assert client.base_url == "http://127.0.0.1:5000/sandbox/hkach"
    assert client.audience == "http://127.0.0.1:5000/sandbox/hkach/auth"
    assert client.customer_code == keys.customer_code and client.debtor_account == "12345678901"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HKACH_API_KEY", "not-the-sandbox-key"),
        ("HKACH_CUSTOMER_CODE", "SOMEONE"),
        ("HKACH_BASE_URL", "https://api.fileactive.anzgcis.com"),
        ("HKACH_DEBTOR_ACCOUNT", "12-345"),
    ],
)
def test_with_the_sandbox_a_mismatch_stops_start_up_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        create_app(test_settings(tmp_path, SANDBOX=True, **{name: value}))


def start_up(settings: dict) -> None:
    """Run the start-up check a deployment runs (tests and local runs skip it)."""
    check_settings(load_settings(settings))


def test_disabled_it_needs_nothing(tmp_path):
    start_up(test_settings(tmp_path))


@pytest.mark.parametrize("name", [n for n in FULL if n != "HKACH_ENABLED"] + ["HKACH_PRIVATE_KEY_PATH"])
def test_enabled_each_missing_setting_stops_start_up_in_one_line(tmp_path, name):
    with pytest.raises(ConfigError, match=f"^{name} is not set") as raised:
        start_up(real_settings(tmp_path, **{name: None}))
    assert "\n" not in str(raised.value.message)


def test_enabled_an_unreadable_key_stops_start_up(tmp_path):
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(ConfigError, match=r"^HKACH_BANK_PUBLIC_KEY_PATH .*bad\.pem: cannot read"):
        start_up(real_settings(tmp_path, HKACH_BANK_PUBLIC_KEY_PATH=str(tmp_path / "bad.pem")))
    with pytest.raises(ConfigError, match=r"^HKACH_PRIVATE_KEY_PATH .*missing\.pem: cannot read"):
        start_up(real_settings(tmp_path, HKACH_PRIVATE_KEY_PATH=str(tmp_path / "missing.pem")))


def test_enabled_and_complete_it_builds_a_client_on_the_bank(tmp_path):
    client = from_app(create_app(real_settings(tmp_path)))
    assert client.base_url == "https://api.fileactive.uat.anzgcis.com"
    assert client.audience == "https://api.fileactive.uat.anzgcis.com/auth"
    assert client.customer_code == "ACME01"
