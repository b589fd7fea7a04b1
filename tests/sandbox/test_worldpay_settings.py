"""Worldpay settings with SANDBOX=1: generated once, defaults, mismatches refused at start-up."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dashboard import create_app
from dashboard.config import ConfigError
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.worldpay.settings import from_app
from dashboard.sandbox.keys import worldpay_credentials
from tests.conftest import test_settings


def sandbox_app(tmp_path: Path, **extra):
    return create_app(test_settings(tmp_path, SANDBOX=True, **extra))


def test_credentials_are_generated_once_even_by_racing_threads(tmp_path):
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(worldpay_credentials(tmp_path))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({tuple(sorted(r.items())) for r in results}) == 1
    assert [p.name for p in (tmp_path / "sandbox").iterdir()] == ["worldpay_credentials.json"]


def test_client_defaults_come_from_the_sandbox(tmp_path):
    app = sandbox_app(tmp_path, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    client = from_app(app)
    settings = app.extensions["sandbox"].worldpay
    generated = worldpay_credentials(tmp_path / "instance")

    assert client.base_url == "http://127.0.0.1:5000/sandbox/worldpay" and client.entity == "default"
    assert (settings.username, settings.password) == (generated["username"], generated["password"])
    assert settings.webhook_url == "http://127.0.0.1:5000/webhooks/worldpay"
    assert list(settings.webhook_secrets) == ["1"]


def test_matching_and_rotating_settings_are_accepted(tmp_path):
    generated = worldpay_credentials(tmp_path / "instance")
    app = sandbox_app(
        tmp_path,
        WORLDPAY_USERNAME=generated["username"],
        WORLDPAY_PASSWORD=generated["password"],
        WORLDPAY_ENTITY="Shop HK 1",
        WORLDPAY_WEBHOOK_SECRETS="1:old,2:new",
        WORLDPAY_WEBHOOK_PATH="/hooks/wp",
    )
    settings = app.extensions["sandbox"].worldpay
    assert settings.webhook_secrets == {"1": "old", "2": "new"} and settings.entity == "Shop HK 1"
    assert settings.webhook_url.endswith("/hooks/wp")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORLDPAY_USERNAME", "someone-else"),
        ("WORLDPAY_PASSWORD", "not-the-sandbox-password"),
        ("WORLDPAY_BASE_URL", "https://try.access.worldpay.com"),
        ("WORLDPAY_WEBHOOK_SECRETS", "no-colon"),
        ("WORLDPAY_ENTITY", "x"),
    ],
)
def test_a_mismatch_stops_start_up_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        sandbox_app(tmp_path, **{name: value})


def test_without_the_sandbox_every_setting_is_needed(tmp_path):
    app = create_app(test_settings(tmp_path))
    with pytest.raises(ProviderConfigError, match="WORLDPAY_BASE_URL"):
        from_app(app)
