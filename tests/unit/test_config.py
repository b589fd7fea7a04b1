"""Settings: defaults, one clear error per bad variable, local secrets, production refusal."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.config import MIN_SECRET_KEY_LENGTH
from dashboard.config import ConfigError
from dashboard.config import is_loopback_url
from dashboard.config import load_settings
from dashboard.config import require_production_settings
from tests.conftest import environ_without_app_settings

KEY = "hTJ2pWmZEu0pO8YzGTnAWTDc8m3Hc4Ih3sHkkL5ZqWc="


def local_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"INSTANCE_PATH": str(tmp_path / "instance"), **extra}


def test_defaults_for_a_local_run(tmp_path):
    settings = load_settings(environ=local_env(tmp_path))
    instance = (tmp_path / "instance").resolve()
    assert settings["INSTANCE_PATH"] == str(instance)
    assert settings["DISPLAY_TIMEZONE"] == "Asia/Hong_Kong"
    assert settings["DATABASE_URL"] == f"sqlite:///{instance / 'dashboard.db'}"
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert settings["TRUSTED_PROXY_COUNT"] == 0
    assert settings["SESSION_COOKIE_SECURE"] is False
    assert settings["SESSION_IDLE_MINUTES"] == 30
    assert settings["TWO_FACTOR_REQUIRED_ROLES"] == {"manager", "admin", "finance"}
    assert settings["STEP_UP_MINUTES"] == 15
    assert settings["SANDBOX"] is False
    assert settings["ANTOM_SETTLEMENT_CURRENCY"] == settings["SANDBOX_ANTOM_SETTLEMENT_CURRENCY"] == "HKD"


def test_overrides_win_over_the_environment(tmp_path):
    settings = load_settings(
        {"DISPLAY_TIMEZONE": "UTC", "SESSION_IDLE_MINUTES": 5},
        environ=local_env(tmp_path, DISPLAY_TIMEZONE="Asia/Tokyo"),
    )
    assert settings["DISPLAY_TIMEZONE"] == "UTC"
    assert settings["SESSION_IDLE_MINUTES"] == 5


@pytest.mark.parametrize(
    ("raw", "roles"),
    [
        ("support", {"support"}),
        (" Manager , admin,,", {"manager", "admin"}),
        ("none", set()),
        ("NONE", set()),
        ((), set()),
    ],
)
def test_the_roles_that_must_enrol_a_second_factor(tmp_path, raw, roles):
    settings = load_settings({"TWO_FACTOR_REQUIRED_ROLES": raw}, environ=local_env(tmp_path))
    assert settings["TWO_FACTOR_REQUIRED_ROLES"] == roles


def test_an_unknown_role_that_must_enrol_is_named(tmp_path):
    with pytest.raises(ConfigError, match="TWO_FACTOR_REQUIRED_ROLES names no role owner"):
        load_settings(environ=local_env(tmp_path, TWO_FACTOR_REQUIRED_ROLES="manager,owner"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x/y"),
        ("TRUSTED_PROXY_COUNT", "-1"),
        ("TRUSTED_PROXY_COUNT", "two"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("DISPLAY_TIMEZONE", "Mars/Base"),
        ("DATA_ENCRYPTION_KEYS", "notakey"),
        ("PUBLIC_BASE_URL", "ftp://x"),
        ("REDIS_URL", "http://cache"),
        ("SESSION_IDLE_MINUTES", "0"),
        ("TWO_FACTOR_REQUIRED_ROLES", "manager,owner"),
        ("STEP_UP_MINUTES", "0"),
        ("SANDBOX", "perhaps"),
        ("ANTOM_SETTLEMENT_CURRENCY", "HK$"),
        ("SANDBOX_ANTOM_SETTLEMENT_CURRENCY", "XXX"),
        ("DATABASE_RANDOM_PAGE_COST", "-1"),
        ("DATABASE_RANDOM_PAGE_COST", "inf"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=local_env(tmp_path, **{name: value}))
    assert str(raised.value).startswith(name)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_are_normalised_to_psycopg_3(tmp_path, scheme):
    settings = load_settings(environ=local_env(tmp_path, DATABASE_URL=f"{scheme}://u:p@db:5432/bo"))
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u:p@db:5432/bo"


@pytest.mark.parametrize(("raw", "expected"), [("yes", True), ("1", True), ("off", False), ("0", False)])
def test_boolean_spellings(tmp_path, raw, expected):
    assert (
        load_settings(environ=local_env(tmp_path, SESSION_COOKIE_SECURE=raw))["SESSION_COOKIE_SECURE"]
        is expected
    )


DEPLOYMENT_SECRETS = {
    "SECRET_KEY": "s" * 40,
    "AUDIT_KEY": "k" * 40,
    "DATA_ENCRYPTION_KEYS": KEY,
    "API_KEY_SECRET": "a" * 40,
}


@pytest.mark.parametrize("missing", list(DEPLOYMENT_SECRETS))
def test_a_deployment_url_without_one_of_its_secrets_refuses(tmp_path, missing):
    given = {name: value for name, value in DEPLOYMENT_SECRETS.items() if name != missing}
    env = local_env(tmp_path, PUBLIC_BASE_URL="https://bo.example.hk", **given)
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        load_settings(environ=env)


def test_a_deployment_with_its_secrets_loads_and_generates_nothing(tmp_path):
    env = local_env(tmp_path, PUBLIC_BASE_URL="https://bo.example.hk/", **DEPLOYMENT_SECRETS)
    settings = load_settings(environ=env)
    assert settings["PUBLIC_BASE_URL"] == "https://bo.example.hk"
    assert settings["GENERATED_SECRETS"] == ()
    assert settings["DATA_ENCRYPTION_KEYS"] == (KEY,)
    require_production_settings(settings)  # does not raise
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_local_runs_generate_instance_secrets_once_with_private_files(tmp_path):
    first = load_settings(environ=local_env(tmp_path))
    second = load_settings(environ=local_env(tmp_path))
    assert first["SECRET_KEY"] and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["DATA_ENCRYPTION_KEYS"] == second["DATA_ENCRYPTION_KEYS"]
    assert first["AUDIT_KEY"] and first["AUDIT_KEY"] == second["AUDIT_KEY"]
    assert first["API_KEY_SECRET"] and first["API_KEY_SECRET"] == second["API_KEY_SECRET"]
    assert set(first["GENERATED_SECRETS"]) == {
        "SECRET_KEY",
        "AUDIT_KEY",
        "DATA_ENCRYPTION_KEYS",
        "API_KEY_SECRET",
    }
    for name in ("secret_key", "audit_key", "data_encryption_key", "api_key_secret"):
        mode = stat.S_IMODE(os.stat(tmp_path / "instance" / name).st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"


def test_production_refuses_generated_secrets(tmp_path):
    settings = load_settings(environ=local_env(tmp_path))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        require_production_settings(settings)


def test_production_refuses_the_sandbox(tmp_path):
    settings = load_settings(
        environ=local_env(tmp_path, SANDBOX="1", SECRET_KEY="s" * 40, DATA_ENCRYPTION_KEYS=KEY)
    )
    with pytest.raises(ConfigError, match="SANDBOX"):
        require_production_settings(settings)


def test_the_sandbox_refuses_to_start_at_an_address_other_machines_reach(tmp_path):
    env = local_env(tmp_path, SANDBOX="1", PUBLIC_BASE_URL="https://bo.example.hk")
    with pytest.raises(ConfigError, match=r"^SANDBOX is on at https://bo\.example\.hk"):
        load_settings(environ=env)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://127.8.9.10", True),
        ("http://[::1]:8000", True),
        ("http://localhost:5000", True),
        ("http://127.0.0.1.evil.example", False),
        ("http://127.example", False),
        ("https://bo.example.hk", False),
        ("http://10.0.0.1", False),
    ],
)
def test_only_a_loopback_address_or_localhost_is_this_machine(url, loopback):
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize("length", [3, MIN_SECRET_KEY_LENGTH - 1])
def test_a_short_secret_key_is_refused(tmp_path, length):
    with pytest.raises(ConfigError, match=f"^SECRET_KEY is {length} characters; use at least"):
        load_settings(environ=local_env(tmp_path, SECRET_KEY="k" * length))
    assert load_settings(environ=local_env(tmp_path, SECRET_KEY="k" * MIN_SECRET_KEY_LENGTH))["SECRET_KEY"]


def flask_command(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """Run ``flask --app dashboard <args>`` in a new process with ``settings``, none from the shell."""
    local = {"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env = environ_without_app_settings(**{**local, **settings})
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "dashboard", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_flask_cli_prints_one_clear_line_for_a_config_error(tmp_path):
    result = flask_command(tmp_path, "routes", DATABASE_URL="mysql://x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("db", "upgrade"), ("audit-verify",)], ids=" ".join)
def test_every_command_stops_with_the_one_line_naming_a_bad_setting(tmp_path, command):
    result = flask_command(tmp_path, *command, DISPLAY_TIMEZONE="Mars/Base")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: DISPLAY_TIMEZONE is not an IANA time zone such as Asia/Hong_Kong"
    ]
    assert result.stdout == ""


def test_serve_refuses_the_sandbox_in_one_line(tmp_path):
    result = flask_command(tmp_path, "serve", "--port", "0", SANDBOX="1")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: SANDBOX is on; `serve` is for a real install (use `demo` for the sandbox)"
    ]


#: What a deployment sets before anything else (README "Running on PostgreSQL and Redis").
DEPLOYMENT = {
    "PUBLIC_BASE_URL": "https://backoffice.example.hk",
    "SECRET_KEY": "a-deployment-secret-of-forty-characters!",
    "AUDIT_KEY": "a-deployment-audit-key-of-forty-characters",
    "DATA_ENCRYPTION_KEYS": "hTJ2pWmZEu0pO8YzGTnAWTDc8m3Hc4Ih3sHkkL5ZqWc=",
    "API_KEY_SECRET": "a-deployment-api-key-secret-of-forty-chars",
}
MISSING_WEBHOOK_SECRETS = (
    "Error: WORLDPAY_WEBHOOK_SECRETS is not set: every Worldpay event would be refused (400) and "
    "retried for a week; set keyId:secret[,keyId:secret] (or SANDBOX=1)"
)


def test_a_deployment_refuses_to_start_without_worldpay_webhook_secrets(tmp_path):
    result = flask_command(tmp_path, "routes", **DEPLOYMENT)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [MISSING_WEBHOOK_SECRETS]
    malformed = flask_command(tmp_path, "routes", **DEPLOYMENT, WORLDPAY_WEBHOOK_SECRETS="no-key-id")
    assert malformed.returncode == 1
    assert malformed.stderr.startswith("Error: WORLDPAY_WEBHOOK_SECRETS: ")


def test_serve_refuses_to_start_without_worldpay_webhook_secrets_even_on_this_machine(tmp_path):
    result = flask_command(
        tmp_path,
        "serve",
        "--port",
        "0",
        SECRET_KEY=DEPLOYMENT["SECRET_KEY"],
        AUDIT_KEY=DEPLOYMENT["AUDIT_KEY"],
        DATA_ENCRYPTION_KEYS=DEPLOYMENT["DATA_ENCRYPTION_KEYS"],
        API_KEY_SECRET=DEPLOYMENT["API_KEY_SECRET"],
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [MISSING_WEBHOOK_SECRETS]


def test_a_fresh_machine_runs_every_command_with_no_setting_at_all(tmp_path):
    """The README's commands (demo, db upgrade, create-user) start with nothing configured."""
    result = flask_command(tmp_path, "routes")
    assert result.returncode == 0, result.stderr
    assert "demo" in flask_command(tmp_path, "--help").stdout


@pytest.mark.parametrize(
    "settings",
    # The sandbox only ever runs at an address of this machine.
    [
        {"WORLDPAY_WEBHOOK_SECRETS": "1:from-worldpay"},
        {"SANDBOX": "1", "PUBLIC_BASE_URL": "http://127.0.0.1:5000"},
    ],
    ids=["secrets", "sandbox"],
)
def test_the_app_starts_with_worldpay_webhook_secrets_or_in_the_sandbox(tmp_path, settings):
    result = flask_command(tmp_path, "routes", **{**DEPLOYMENT, **settings})
    assert result.returncode == 0, result.stderr
    assert "/healthz" in result.stdout  # the app was built; its webhooks are in front of these routes
