"""Build the Antom client from the app's settings; with ``SANDBOX=1`` default and check them.

Settings (DESIGN §8 "Sandbox"): ``ANTOM_BASE_URL``, ``ANTOM_CLIENT_ID``, ``ANTOM_PRIVATE_KEY``
(PEM text or path), ``ANTOM_PUBLIC_KEY`` (PEM text or path), ``ANTOM_KEY_VERSION`` and
``ANTOM_NOTIFY_PATH`` (default ``/webhooks/antom``) and ``ANTOM_SETTLEMENT_CURRENCY`` (the
contract's settlement currency, default HKD). With the sandbox on, unset values default
to the simulator's: base URL ``SANDBOX_BASE_URL + /antom`` (``SANDBOX_BASE_URL`` defaults to
``PUBLIC_BASE_URL + /sandbox``), a ``SANDBOX_`` client id, and the keys the sandbox offers
(:class:`AntomSandbox`, supplied by ``init_sandbox``). A set value that does not match the
sandbox, or a base URL that is neither the app itself nor loopback, stops start-up with a
:class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import current_app

from dashboard.config import ConfigError
from dashboard.config import sandbox_provider_url
from dashboard.providers.antom.client import AntomClient
from dashboard.providers.antom.consts import DEFAULT_SETTLEMENT_CURRENCY
from dashboard.providers.antom.consts import PROVIDER
from dashboard.providers.antom.consts import SANDBOX_CLIENT_PREFIX
from dashboard.providers.antom.signatures import load_private_key
from dashboard.providers.antom.signatures import load_public_key
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import require_set
from dashboard.providers.base import sandbox_offer

#: The client id the simulator issues to the dashboard (sandbox ids start with SANDBOX_).
DEFAULT_SANDBOX_CLIENT_ID = "SANDBOX_5Y00BACKOFFICE01"
DEFAULT_NOTIFY_PATH = "/webhooks/antom"


@dataclass(frozen=True)
class AntomSandbox:
    """What the simulator offers the client: the merchant key it accepts and its own public key (PEM)."""

    merchant_private_key: str
    antom_public_key: str


@dataclass(frozen=True)
class AntomSettings:
    """Everything the client needs, resolved."""

    base_url: str
    client_id: str
    private_key: str
    public_key: str
    key_version: int
    notify_url: str
    settlement_currency: str = DEFAULT_SETTLEMENT_CURRENCY


def notify_url(config: Mapping[str, Any]) -> str:
    """Return our public notify URL: ``PUBLIC_BASE_URL`` + ``ANTOM_NOTIFY_PATH``."""
    return config["PUBLIC_BASE_URL"].rstrip("/") + (config.get("ANTOM_NOTIFY_PATH") or DEFAULT_NOTIFY_PATH)


def _same_public(a, b) -> bool:
    return a.public_numbers() == b.public_numbers()


def resolve(config: Mapping[str, Any], sandbox: AntomSandbox | None = None) -> AntomSettings:
    """Return the client settings; with the sandbox on, fill gaps from ``sandbox`` and refuse mismatches."""
    if config.get("SANDBOX"):
        if sandbox is None:
            raise ConfigError("SANDBOX=1 needs the simulators' Antom keys; they are set up by init_sandbox")
        return _resolve_sandbox(config, sandbox)
    require_set(config, ("ANTOM_BASE_URL", "ANTOM_CLIENT_ID", "ANTOM_PRIVATE_KEY", "ANTOM_PUBLIC_KEY"))
    return AntomSettings(
        base_url=config["ANTOM_BASE_URL"],
        client_id=config["ANTOM_CLIENT_ID"],
        private_key=config["ANTOM_PRIVATE_KEY"],
        public_key=config["ANTOM_PUBLIC_KEY"],
        key_version=int(config.get("ANTOM_KEY_VERSION") or 1),
        notify_url=notify_url(config),
        settlement_currency=config.get("ANTOM_SETTLEMENT_CURRENCY") or DEFAULT_SETTLEMENT_CURRENCY,
    )


def _resolve_sandbox(config: Mapping[str, Any], sandbox: AntomSandbox) -> AntomSettings:
    base_url = sandbox_provider_url(config, "ANTOM_BASE_URL", "/antom")
    client_id = config.get("ANTOM_CLIENT_ID") or DEFAULT_SANDBOX_CLIENT_ID
    if not client_id.startswith(SANDBOX_CLIENT_PREFIX):
        raise ConfigError(f"ANTOM_CLIENT_ID must start with {SANDBOX_CLIENT_PREFIX} while SANDBOX=1")
    private_key = config.get("ANTOM_PRIVATE_KEY")
    if private_key:
        try:
            matches = _same_public(
                load_private_key(private_key).public_key(),
                load_private_key(sandbox.merchant_private_key).public_key(),
            )
        except ProviderConfigError as exc:
            raise ConfigError(f"ANTOM_PRIVATE_KEY: {exc}") from None
        if not matches:
            raise ConfigError(
                "ANTOM_PRIVATE_KEY is not the sandbox merchant key in instance/sandbox/; unset it "
                "while SANDBOX=1"
            )
    public_key = config.get("ANTOM_PUBLIC_KEY")
    if public_key:
        try:
            matches = _same_public(load_public_key(public_key), load_public_key(sandbox.antom_public_key))
        except ProviderConfigError as exc:
            raise ConfigError(f"ANTOM_PUBLIC_KEY: {exc}") from None
        if not matches:
            raise ConfigError(
                "ANTOM_PUBLIC_KEY is not the simulator's public key (see /sandbox/antom/public-key); "
                "unset it while SANDBOX=1"
            )
    return AntomSettings(
        base_url=base_url,
        client_id=client_id,
        private_key=private_key or sandbox.merchant_private_key,
        public_key=public_key or sandbox.antom_public_key,
        key_version=int(config.get("ANTOM_KEY_VERSION") or 1),
        notify_url=notify_url(config),
        settlement_currency=config.get("ANTOM_SETTLEMENT_CURRENCY") or DEFAULT_SETTLEMENT_CURRENCY,
    )


def from_app(app: Flask | None = None, **client_options: Any) -> AntomClient:
    """Return an :class:`AntomClient` built from the settings of ``app`` (default: the current app).

    :param client_options: passed to the client (``session``, ``read_timeout``, ``clock``, ...)
    """
    app = app or current_app
    settings = resolve(app.config, sandbox_offer(app.extensions, PROVIDER))
    return AntomClient(
        base_url=settings.base_url,
        client_id=settings.client_id,
        private_key=settings.private_key,
        antom_public_key=settings.public_key,
        key_version=settings.key_version,
        notify_url=settings.notify_url,
        settlement_currency=settings.settlement_currency,
        **client_options,
    )
