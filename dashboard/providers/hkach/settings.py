"""Build the HK ACH client from the app's settings; with ``SANDBOX=1`` default and check them.

Settings, read only while ``HKACH_ENABLED`` is on: ``HKACH_BASE_URL``, ``HKACH_CUSTOMER_CODE``
(the bank's customer code, sent in capitals), ``HKACH_API_KEY``, ``HKACH_PRIVATE_KEY_PATH`` (our
PEM key, whose public half the bank registered), ``HKACH_BANK_PUBLIC_KEY_PATH`` (the bank's PEM
key payloads are encrypted to), ``HKACH_DEBTOR_NAME`` and ``HKACH_DEBTOR_ACCOUNT`` (the account
batches are paid from); ``HKACH_MAX_RATE_LIMIT_WAIT``, the most seconds one call waits out the
bank's 429s. Anything missing or unreadable stops start-up with a one-line
:class:`ConfigError` naming it. With the sandbox on, unset values default to the simulator's
(:class:`HkachSandbox`, supplied by ``init_sandbox``); a customer code or API key that differs
from the sandbox's, or a base URL that is neither the app itself nor loopback, stops start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app

from dashboard.config import ConfigError
from dashboard.config import sandbox_provider_url
from dashboard.providers.base import sandbox_offer
from dashboard.providers.hkach import consts
from dashboard.providers.hkach.client import HkachClient
from dashboard.providers.hkach.jose import load_key

REQUIRED = (
    "HKACH_BASE_URL",
    "HKACH_CUSTOMER_CODE",
    "HKACH_API_KEY",
    "HKACH_PRIVATE_KEY_PATH",
    "HKACH_BANK_PUBLIC_KEY_PATH",
    "HKACH_DEBTOR_NAME",
    "HKACH_DEBTOR_ACCOUNT",
)
SANDBOX_DEBTOR_NAME = "SANDBOX MERCHANT LIMITED"
SANDBOX_DEBTOR_ACCOUNT = "12345678901"


@dataclass(frozen=True)
class HkachSandbox:
    """What the simulator offers the client: its customer code, API key and both key files."""

    customer_code: str
    api_key: str
    private_key_path: str
    bank_public_key_path: str


@dataclass(frozen=True)
class HkachSettings:
    """Everything the client needs, resolved (keys as PEM text)."""

    base_url: str
    customer_code: str
    api_key: str
    private_key_pem: str
    bank_public_key_pem: str
    debtor_name: str
    debtor_account: str
    max_rate_limit_wait: float


def _read_key(name: str, path: str) -> str:
    try:
        text = Path(path).read_text()
        load_key(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{name} {path}: cannot read an RSA key in PEM ({exc})") from None
    return text


def _check_debtor_account(account: str) -> str:
    if not consts.ACCOUNT_PATTERN.fullmatch(account):
        raise ConfigError(f"HKACH_DEBTOR_ACCOUNT {account!r} is not 1-34 digits")
    return account


def check_startup(config: Mapping[str, Any]) -> None:
    """Refuse to start with the HK ACH provider enabled but a setting missing or unreadable."""
    if not config.get("HKACH_ENABLED") or config.get("SANDBOX"):
        return  # the sandbox's offer fills the gaps, checked when the sandbox is built
    resolve(config)


def resolve(config: Mapping[str, Any], sandbox: HkachSandbox | None = None) -> HkachSettings:
    """Return the client settings; with the sandbox on, fill gaps from ``sandbox`` and refuse mismatches."""
    if config.get("SANDBOX"):
        if sandbox is None:
            raise ConfigError("SANDBOX=1 needs the simulator's HK ACH keys; init_sandbox sets them up")
        return _resolve_sandbox(config, sandbox)
    for name in REQUIRED:
        if not config.get(name):
            raise ConfigError(f"{name} is not set; the HK ACH provider needs it (or turn SANDBOX on)")
    return HkachSettings(
        base_url=config["HKACH_BASE_URL"].rstrip("/"),
        customer_code=config["HKACH_CUSTOMER_CODE"].upper(),
        api_key=config["HKACH_API_KEY"],
        private_key_pem=_read_key("HKACH_PRIVATE_KEY_PATH", config["HKACH_PRIVATE_KEY_PATH"]),
        bank_public_key_pem=_read_key("HKACH_BANK_PUBLIC_KEY_PATH", config["HKACH_BANK_PUBLIC_KEY_PATH"]),
        debtor_name=config["HKACH_DEBTOR_NAME"],
        debtor_account=_check_debtor_account(config["HKACH_DEBTOR_ACCOUNT"]),
        max_rate_limit_wait=config["HKACH_MAX_RATE_LIMIT_WAIT"],
    )


def _resolve_sandbox(config: Mapping[str, Any], sandbox: HkachSandbox) -> HkachSettings:
    base_url = sandbox_provider_url(config, "HKACH_BASE_URL", "/hkach")
    offered = {
        "HKACH_CUSTOMER_CODE": sandbox.customer_code,
        "HKACH_API_KEY": sandbox.api_key,
        "HKACH_PRIVATE_KEY_PATH": sandbox.private_key_path,
        "HKACH_BANK_PUBLIC_KEY_PATH": sandbox.bank_public_key_path,
    }
    for name, value in offered.items():
        if config.get(name) and config[name] != value:
            raise ConfigError(f"{name} is not the sandbox's (instance/sandbox/); unset it while SANDBOX=1")
    return HkachSettings(
        base_url=base_url,
        customer_code=sandbox.customer_code,
        api_key=sandbox.api_key,
        private_key_pem=_read_key("HKACH_PRIVATE_KEY_PATH", sandbox.private_key_path),
        bank_public_key_pem=_read_key("HKACH_BANK_PUBLIC_KEY_PATH", sandbox.bank_public_key_path),
        debtor_name=config.get("HKACH_DEBTOR_NAME") or SANDBOX_DEBTOR_NAME,
        debtor_account=_check_debtor_account(config.get("HKACH_DEBTOR_ACCOUNT") or SANDBOX_DEBTOR_ACCOUNT),
        max_rate_limit_wait=config["HKACH_MAX_RATE_LIMIT_WAIT"],
    )


def from_app(app: Flask | None = None, **client_options: Any) -> HkachClient:
    """Return an :class:`HkachClient` built from the settings of ``app`` (default: the current app).

    :param client_options: passed to the client (``session``, ``read_timeout``, ``clock``, ...)
    """
    app = app or current_app
    settings = resolve(app.config, sandbox_offer(app.extensions, consts.PROVIDER))
    client_options.setdefault("max_rate_limit_wait", settings.max_rate_limit_wait)
    return HkachClient(
        base_url=settings.base_url,
        customer_code=settings.customer_code,
        api_key=settings.api_key,
        private_key_pem=settings.private_key_pem,
        bank_public_key_pem=settings.bank_public_key_pem,
        debtor_name=settings.debtor_name,
        debtor_account=settings.debtor_account,
        **client_options,
    )
