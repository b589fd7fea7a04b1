"""Build the Worldpay client from the app's settings; with ``SANDBOX=1`` default and check them.

Settings: ``WORLDPAY_BASE_URL``, ``WORLDPAY_USERNAME``, ``WORLDPAY_PASSWORD``,
``WORLDPAY_ENTITY``, ``WORLDPAY_WEBHOOK_SECRETS`` (``keyId:secret[,keyId:secret...]``; several
during a key rotation) and ``WORLDPAY_WEBHOOK_PATH`` (default ``/webhooks/worldpay``). With the
sandbox on, unset values default to the simulator's: base URL ``SANDBOX_BASE_URL + /worldpay``,
entity ``default``, and a username, password and webhook secret generated once into
``<INSTANCE_PATH>/sandbox/worldpay_credentials.json``. A username or password that differs from
that file, or a base URL that is neither the app itself nor loopback, stops start-up with a
:class:`ConfigError`. Webhook secrets that are set are used by the simulator as they are (that
is how a rotation is tried out), but they must parse.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app

from dashboard.config import ConfigError
from dashboard.config import sandbox_provider_url
from dashboard.providers.base import ProviderConfigError
from dashboard.providers.base import require_set
from dashboard.providers.worldpay import consts
from dashboard.providers.worldpay.client import WorldpayClient
from dashboard.providers.worldpay.signatures import parse_secrets

DEFAULT_WEBHOOK_PATH = "/webhooks/worldpay"
DEFAULT_SANDBOX_ENTITY = "default"
CREDENTIALS_FILE = "worldpay_credentials.json"


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


def _check_entity(entity: str) -> str:
    low, high = consts.ENTITY_LENGTH
    if not low <= len(entity) <= high or not consts.ENTITY_PATTERN.fullmatch(entity):
        raise ConfigError(f"WORLDPAY_ENTITY {entity!r} is not 3-32 letters, digits, hyphens or spaces")
    return entity


def resolve(config: Mapping[str, Any]) -> WorldpaySettings:
    """Return the client settings; with the sandbox on, fill gaps from it and refuse mismatches."""
    if config.get("SANDBOX"):
        return _resolve_sandbox(config)
    require_set(config, ("WORLDPAY_BASE_URL", "WORLDPAY_USERNAME", "WORLDPAY_PASSWORD", "WORLDPAY_ENTITY"))
    return WorldpaySettings(
        base_url=config["WORLDPAY_BASE_URL"].rstrip("/"),
        username=config["WORLDPAY_USERNAME"],
        password=config["WORLDPAY_PASSWORD"],
        entity=_check_entity(config["WORLDPAY_ENTITY"]),
        webhook_secrets=_secrets(config),
        webhook_url=webhook_url(config),
    )


def _new_credentials() -> bytes:
    data = {
        "username": "sandbox-" + secrets.token_hex(6),
        "password": secrets.token_urlsafe(24),
        "webhook_secrets": "1:" + secrets.token_hex(32),
    }
    return json.dumps(data, indent=2).encode()


def sandbox_credentials(instance_path: str | Path) -> dict[str, str]:
    """Return (creating once, atomically) the simulator's credentials and webhook secret."""
    from dashboard.sandbox.keys import ensure_file

    path = Path(instance_path) / "sandbox" / CREDENTIALS_FILE
    return json.loads(ensure_file(path, _new_credentials))


def _resolve_sandbox(config: Mapping[str, Any]) -> WorldpaySettings:
    generated = sandbox_credentials(config["INSTANCE_PATH"])
    base_url = sandbox_provider_url(config, "WORLDPAY_BASE_URL", "/worldpay")
    for name, key in (("WORLDPAY_USERNAME", "username"), ("WORLDPAY_PASSWORD", "password")):
        value = config.get(name)
        if value and value != generated[key]:
            raise ConfigError(
                f"{name} is not the sandbox's (instance/sandbox/{CREDENTIALS_FILE}); unset it while SANDBOX=1"
            )
    webhook_secrets = _secrets(config) or parse_secrets(generated["webhook_secrets"])
    return WorldpaySettings(
        base_url=base_url,
        username=generated["username"],
        password=generated["password"],
        entity=_check_entity(config.get("WORLDPAY_ENTITY") or DEFAULT_SANDBOX_ENTITY),
        webhook_secrets=webhook_secrets,
        webhook_url=webhook_url(config),
    )


def from_app(app: Flask | None = None, **client_options: Any) -> WorldpayClient:
    """Return a :class:`WorldpayClient` built from the settings of ``app`` (default: the current app).

    :param client_options: passed to the client (``session``, ``read_timeout``, ``clock``, ...)
    """
    settings = resolve((app or current_app).config)
    return WorldpayClient(
        base_url=settings.base_url,
        username=settings.username,
        password=settings.password,
        entity=settings.entity,
        **client_options,
    )
