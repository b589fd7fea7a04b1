"""Build the Worldpay client from the app's settings; with ``SANDBOX=1`` default and check them.

Settings: ``WORLDPAY_BASE_URL``, ``WORLDPAY_USERNAME``, ``WORLDPAY_PASSWORD``,
``WORLDPAY_ENTITY``, ``WORLDPAY_WEBHOOK_SECRETS`` (``keyId:secret[,keyId:secret...]``; several
during a key rotation; required outside the sandbox, checked at start-up by
:func:`check_startup`) and ``WORLDPAY_WEBHOOK_PATH`` (default ``/webhooks/worldpay``). With the
sandbox on, unset values default to the simulator's: base URL ``SANDBOX_BASE_URL + /worldpay``,
entity ``default``, and the username, password and webhook secret the sandbox offers
(:class:`WorldpaySandbox`, supplied by ``init_sandbox``). A username or password that differs
from the sandbox's, or a base URL that is neither the app itself nor loopback, stops start-up
with a :class:`ConfigError`. Webhook secrets that are set are used by the simulator as they are (that
is how a rotation is tried out), but they must parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Flask
from flask import current_app

from dashboard.config import ConfigError
from dashboard.config import sandbox_provider_url
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import require_set
from dashboard.providers.base import sandbox_offer
from dashboard.providers.worldpay import consts
from dashboard.providers.worldpay.client import WorldpayClient
from dashboard.providers.worldpay.signatures import parse_secrets

DEFAULT_WEBHOOK_PATH = "/webhooks/worldpay"
DEFAULT_SANDBOX_ENTITY = "default"


@dataclass(frozen=True)
class WorldpaySandbox:
    """What the simulator offers the client: its Basic credentials and webhook secrets."""

    username: str
    password: str
    #: ``keyId:secret[,keyId:secret...]``, as ``WORLDPAY_WEBHOOK_SECRETS`` reads.
    webhook_secrets: str


@dataclass(frozen=True)
class WorldpaySettings:
    """Everything the client and the webhook need, resolved."""

    base_url: str
    username: str
    password: str
    entity: str
    #: keyId → shared secret of the ``Event-Signature`` HMAC, in the configured order.
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)
    webhook_url: str = ""


def webhook_url(config: Mapping[str, Any]) -> str:
    """Return our public webhook URL: ``PUBLIC_BASE_URL`` + ``WORLDPAY_WEBHOOK_PATH``."""
    path = config.get("WORLDPAY_WEBHOOK_PATH") or DEFAULT_WEBHOOK_PATH
    return config["PUBLIC_BASE_URL"].rstrip("/") + path


def _secrets(config: Mapping[str, Any]) -> dict[str, str]:
    try:
        return parse_secrets(config.get("WORLDPAY_WEBHOOK_SECRETS") or "")
    except ProviderConfigError as exc:
        raise ConfigError(f"WORLDPAY_WEBHOOK_SECRETS: {exc}") from None


def check_startup(config: Mapping[str, Any]) -> None:
    """Refuse to start without ``WORLDPAY_WEBHOOK_SECRETS`` outside the sandbox.

    Without a secret no ``Event-Signature`` verifies: every event would be answered 400, kept as
    refused, and retried by Worldpay for a week (§1.10.1), while payments and refunds wait.
    """
    if config.get("SANDBOX"):
        return  # the simulator's generated secret is used
    if not _secrets(config):
        raise ConfigError(
            "WORLDPAY_WEBHOOK_SECRETS is not set: every Worldpay event would be refused (400) and "
            "retried for a week; set keyId:secret[,keyId:secret] (or SANDBOX=1)"
        )


def _check_entity(entity: str) -> str:
    low, high = consts.ENTITY_LENGTH
    if not low <= len(entity) <= high or not consts.ENTITY_PATTERN.fullmatch(entity):
        raise ConfigError(f"WORLDPAY_ENTITY {entity!r} is not 3-32 letters, digits, hyphens or spaces")
    return entity


def resolve(config: Mapping[str, Any], sandbox: WorldpaySandbox | None = None) -> WorldpaySettings:
    """Return the client settings; with the sandbox on, fill gaps from ``sandbox`` and refuse mismatches."""
    if config.get("SANDBOX"):
        if sandbox is None:
            raise ConfigError(
                "SANDBOX=1 needs the simulators' Worldpay credentials; init_sandbox sets them up"
            )
        return _resolve_sandbox(config, sandbox)
    require_set(config, ("WORLDPAY_BASE_URL", "WORLDPAY_USERNAME", "WORLDPAY_PASSWORD", "WORLDPAY_ENTITY"))
    return WorldpaySettings(
        base_url=config["WORLDPAY_BASE_URL"].rstrip("/"),
        username=config["WORLDPAY_USERNAME"],
        password=config["WORLDPAY_PASSWORD"],
        entity=_check_entity(config["WORLDPAY_ENTITY"]),
        webhook_secrets=_secrets(config),
        webhook_url=webhook_url(config),
    )


def _resolve_sandbox(config: Mapping[str, Any], sandbox: WorldpaySandbox) -> WorldpaySettings:
    base_url = sandbox_provider_url(config, "WORLDPAY_BASE_URL", "/worldpay")
    for name, offered in (("WORLDPAY_USERNAME", sandbox.username), ("WORLDPAY_PASSWORD", sandbox.password)):
        value = config.get(name)
        if value and value != offered:
            raise ConfigError(f"{name} is not the sandbox's (instance/sandbox/); unset it while SANDBOX=1")
    webhook_secrets = _secrets(config) or parse_secrets(sandbox.webhook_secrets)
    return WorldpaySettings(
        base_url=base_url,
        username=sandbox.username,
        password=sandbox.password,
        entity=_check_entity(config.get("WORLDPAY_ENTITY") or DEFAULT_SANDBOX_ENTITY),
        webhook_secrets=webhook_secrets,
        webhook_url=webhook_url(config),
    )


def from_app(app: Flask | None = None, **client_options: Any) -> WorldpayClient:
    """Return a :class:`WorldpayClient` built from the settings of ``app`` (default: the current app).

    :param client_options: passed to the client (``session``, ``read_timeout``, ``clock``, ...)
    """
    app = app or current_app
    settings = resolve(app.config, sandbox_offer(app.extensions, consts.PROVIDER))
    return WorldpayClient(
        base_url=settings.base_url,
        username=settings.username,
        password=settings.password,
        entity=settings.entity,
        **client_options,
    )
