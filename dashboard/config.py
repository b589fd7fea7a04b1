"""Settings from the environment (and ``.env``), validated once at start-up.

Nothing reads ``os.environ`` at import time. :func:`load_settings` turns the
environment plus an optional override mapping into a plain dict of Flask config keys,
or raises :class:`ConfigError` naming the first bad variable.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import click
from cryptography.fernet import Fernet


class ConfigError(click.ClickException):
    """A setting is missing or malformed.

    Every ``flask --app dashboard …`` command prints its one-line message and exits with status 1.
    It is not Flask's ``NoAppException``: ``FlaskGroup.get_command`` swallows that one while it looks
    up a command the app provides (``db``, ``demo``, ``serve`` …) and then reports "No such command".
    """


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be 1/0, true/false, yes/no or on/off")


def _non_negative_int(raw: Any) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_int(raw: Any) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _timezone(raw: Any) -> str:
    try:
        ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone such as Asia/Hong_Kong") from None
    return str(raw)


def _http_url(raw: Any) -> str:
    parts = urlsplit(str(raw))
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return str(raw).rstrip("/")


def _database_url(raw: Any) -> str:
    text = str(raw)
    if text.startswith("postgres://") or text.startswith("postgresql://"):
        # SQLAlchemy would pick psycopg2, which is not installed; psycopg 3 is.
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    if not (text.startswith("sqlite://") or text.startswith("postgresql+psycopg://")):
        raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
    return text


def _url_path(raw: Any) -> str:
    text = str(raw)
    if not text.startswith("/") or "://" in text or "?" in text:
        raise ValueError("must be a path such as /webhooks/antom")
    return text


def _non_negative_float(raw: Any) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be a number, 0 or more")
    return value


def _planner_cost(raw: Any) -> float:
    value = _non_negative_float(raw)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")  # PostgreSQL refuses every connection otherwise
    return value


def _currency(raw: Any) -> str:
    from dashboard.money import EXPONENTS

    code = str(raw).strip().upper()
    if code not in EXPONENTS:
        raise ValueError("must be an ISO 4217 currency code such as HKD")
    return code


def _labels(raw: Any) -> tuple[str, ...]:
    labels = tuple(label.strip() for label in str(raw).split(",") if label.strip())
    if not labels:
        raise ValueError("must list at least one, comma-separated")
    return labels


def _thresholds(raw: Any) -> dict[str, int]:
    from dashboard.money import InvalidAmount
    from dashboard.money import Money
    from dashboard.money import UnknownCurrency

    thresholds: dict[str, int] = {}
    for part in (part.strip() for part in str(raw).split(",")):
        currency, colon, amount = part.partition(":")
        if not part:
            continue
        if not colon:
            raise ValueError("must read CUR:amount[,CUR:amount…], e.g. HKD:5000.00,USD:700.00")
        try:
            money = Money.parse(amount, currency.strip().upper())
        except (InvalidAmount, UnknownCurrency) as exc:
            raise ValueError(f"has {part!r}: {exc}") from None
        thresholds[money.currency] = money.minor
    return thresholds


def _major_amount(raw: Any) -> int:
    """Read an amount in major units of a two-decimal currency (``9999999.99``) as minor units.

    A whole number given by code (the settings mapping of ``create_app``) is minor units already.
    """
    from dashboard.money import InvalidAmount
    from dashboard.money import Money

    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw <= 0:
            raise ValueError("must be an amount above 0")
        return raw
    try:
        minor = Money.parse(str(raw).strip(), "HKD").minor
    except InvalidAmount as exc:
        raise ValueError(f"must be an amount with at most 2 decimals ({exc})") from None
    if minor <= 0:
        raise ValueError("must be an amount above 0")
    return minor


def _one_of(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _positive_float(raw: Any) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


def _redis_url(raw: Any) -> str:
    text = str(raw)
    if urlsplit(text).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("must be a redis:// URL")
    return text


def _roles(raw: Any) -> frozenset[str]:
    """Read staff roles, comma-separated; ``none`` (or an empty collection given by code) names none."""
    from dashboard.users.models import Role

    if isinstance(raw, (tuple, list, set, frozenset)):
        names = {str(name).strip().lower() for name in raw}
    elif str(raw).strip().lower() == "none":
        names = set()
    else:
        names = {name.strip().lower() for name in str(raw).split(",") if name.strip()}
    unknown = names - {role.value for role in Role}
    if unknown:
        raise ValueError(f"names no role {', '.join(sorted(unknown))}: use {', '.join(Role)} or none")
    return frozenset(names)


def _rate_limit(raw: Any) -> str:
    from limits import parse

    text = str(raw).strip()
    parse(text)  # raises ValueError on anything but "N per minute", "N/second" …
    return text


def _fernet_keys(raw: Any) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in str(raw).split(",") if key.strip())
    if not keys:
        raise ValueError("must list at least one Fernet key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ValueError("holds a value that is not a Fernet key (32 url-safe base64 bytes)") from None
    return keys


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to parse it and what it defaults to."""

    name: str
    parse: Callable[[Any], Any]
    default: Any = None


#: Every variable the app reads.
SETTINGS: list[Setting] = [
    Setting("SECRET_KEY", str),
    # Keys the audit chain's hashes (HMAC-SHA256); kept out of the database, so rows cannot be
    # rewritten with hashes that still add up. Where the chain's checkpoints are appended.
    Setting("AUDIT_KEY", str),
    Setting("AUDIT_CHECKPOINT_FILE", str),
    Setting("AUDIT_CHECKPOINT_MINUTES", _positive_int, 60),
    Setting("DATABASE_URL", _database_url),
    # PostgreSQL only (SQLite waits at most its 10 s busy timeout): seconds to open a connection,
    # and to run one statement (0: no limit; migrations and rebuilds lift it for themselves).
    Setting("DATABASE_CONNECT_TIMEOUT", _positive_int, 3),
    Setting("DATABASE_STATEMENT_TIMEOUT", _non_negative_int, 30),
    # PostgreSQL only: what the planner takes a random page read to cost, for this app's connections
    # (0: the server's own setting).
    Setting("DATABASE_RANDOM_PAGE_COST", _planner_cost, 1.1),
    Setting("REDIS_URL", _redis_url),
    Setting("PUBLIC_BASE_URL", _http_url, "http://127.0.0.1:5000"),
    Setting("TRUSTED_PROXY_COUNT", _non_negative_int, 0),
    Setting("SESSION_COOKIE_SECURE", _bool, False),
    Setting("DISPLAY_TIMEZONE", _timezone, "Asia/Hong_Kong"),
    Setting("DATA_ENCRYPTION_KEYS", _fernet_keys),
    Setting("SANDBOX", _bool, False),
    # Notifications whose signature fails: how many of their bodies are kept an hour (all
    # addresses together; the verdict and headers always are), and for how many days.
    Setting("REJECTED_BODIES_PER_HOUR", _non_negative_int, 100),
    Setting("REJECTED_BODY_RETENTION_DAYS", _positive_int, 30),
    Setting("SESSION_IDLE_MINUTES", _positive_int, 30),
    # Roles whose users enrol an authenticator app at their next sign-in (``none``: nobody must), and
    # how old a user's last code may be before a money-moving form asks for a fresh one.
    Setting("TWO_FACTOR_REQUIRED_ROLES", _roles, frozenset({"manager", "admin", "finance"})),
    Setting("STEP_UP_MINUTES", _positive_int, 15),
    # The storefront API: the server secret API keys are hashed with (HMAC-SHA256; only the hash is
    # stored) and how many calls one key may make (the limits library's notation).
    Setting("API_KEY_SECRET", str),
    Setting("API_RATE_LIMIT", _rate_limit, "600 per minute"),
    # Why staff refund (the refund form's list); "Other" asks for a note.
    Setting(
        "REFUND_REASONS",
        _labels,
        _labels("Duplicate payment,Customer request,Product not delivered,Goodwill,Other"),
    ),
    # Refunds at or above these amounts wait for a second manager; a currency not listed always does.
    Setting(
        "REFUND_APPROVAL_THRESHOLDS",
        _thresholds,
        _thresholds("HKD:5000.00,USD:700.00,EUR:600.00,GBP:500.00,SGD:900.00"),
    ),
    # Antom client; with SANDBOX=1 unset values default to the simulator's (providers/antom/settings.py).
    Setting("ANTOM_BASE_URL", _http_url),
    Setting("ANTOM_CLIENT_ID", str),
    Setting("ANTOM_PRIVATE_KEY", str),
    Setting("ANTOM_PUBLIC_KEY", str),
    Setting("ANTOM_KEY_VERSION", _positive_int, 1),
    Setting("ANTOM_NOTIFY_PATH", _url_path, "/webhooks/antom"),
    # How long after a payment the merchant's Antom contract accepts refunds (REFUND_WINDOW_EXCEED).
    Setting("ANTOM_REFUND_WINDOW_DAYS", _positive_int, 365),
    # The settlement currency of the merchant's Antom contract (pay's settlementStrategy), whatever
    # the currency a customer pays in.
    Setting("ANTOM_SETTLEMENT_CURRENCY", _currency, "HKD"),
    # Where Antom's settlement reports are fetched (the folder /v1/settlements/<merchant>/<date>/ served
    # over HTTP(S)) and the merchant id Antom names that folder by; with SANDBOX=1 unset values read
    # the simulator's (providers/antom/settlement_reports.py).
    Setting("ANTOM_REPORTS_URL", _http_url),
    Setting("ANTOM_MERCHANT_ID", str),
    # Worldpay client; with SANDBOX=1 unset values default to the simulator's
    # (providers/worldpay/settings.py). Secrets read keyId:secret[,keyId:secret...].
    Setting("WORLDPAY_BASE_URL", _http_url),
    Setting("WORLDPAY_USERNAME", str),
    Setting("WORLDPAY_PASSWORD", str),
    Setting("WORLDPAY_ENTITY", str),
    Setting("WORLDPAY_WEBHOOK_SECRETS", str),
    Setting("WORLDPAY_WEBHOOK_PATH", _url_path, "/webhooks/worldpay"),
    # Days after a Worldpay refund was sent before its fate is read from Worldpay's records when no
    # refunded (or refundFailed) event came: refunded is sent "only in certain use cases", and an
    # unacknowledged event is retried for up to a week, hence 8.
    Setting("WORLDPAY_REFUND_RESOLUTION_DAYS", _positive_float, 8.0),
    # HK ACH (Fileactive) bulk payments, read only when enabled; with SANDBOX=1 unset values
    # default to the simulator's (providers/hkach/settings.py). Key paths name PEM files.
    Setting("HKACH_ENABLED", _bool, False),
    Setting("HKACH_BASE_URL", _http_url),
    Setting("HKACH_CUSTOMER_CODE", str),
    Setting("HKACH_API_KEY", str),
    Setting("HKACH_PRIVATE_KEY_PATH", str),
    Setting("HKACH_BANK_PUBLIC_KEY_PATH", str),
    Setting("HKACH_DEBTOR_NAME", str),
    Setting("HKACH_DEBTOR_ACCOUNT", str),
    # Most seconds one HK ACH call waits out the bank's 429s (Retry-After) before it gives up.
    Setting("HKACH_MAX_RATE_LIMIT_WAIT", _non_negative_float, 5.0),
    # Payroll batches: the largest payroll CSV read (bytes after decoding) and the largest amount one
    # payee may be paid (HKD or CNY, in major units: both have 2 decimals).
    Setting("ACH_MAX_FILE_BYTES", _positive_int, 20 * 1024 * 1024),
    Setting("ACH_MAX_ITEM_AMOUNT", _major_amount, 999_999_999),
    # Simulators (dashboard/sandbox): their public URL, real seconds per documented second of
    # delay (1 s per documented hour by default), and the seed of their outcome mix.
    Setting("SANDBOX_BASE_URL", _http_url),
    Setting("SANDBOX_TIME_SCALE", _non_negative_float, 1 / 3600),
    Setting("SANDBOX_SEED", str, "sandbox"),
    # The settlement currency of the Antom simulator's contract with the merchant.
    Setting("SANDBOX_ANTOM_SETTLEMENT_CURRENCY", _currency, "HKD"),
    # Days whose Antom settlement reports disagree with what the simulator told the merchant (a
    # payment off by one cent, a row left out, an unknown payment, a refund reversal, a fee
    # adjustment): ``all``, or ISO dates separated by commas (sandbox/antom_reports.py).
    Setting("SANDBOX_ANTOM_SETTLEMENT_DIFFERENCES", str, ""),
    # HKD per unit of the other AlipayHK currencies, for the HKD 50,000 cap of the Worldpay simulator.
    Setting("SANDBOX_WORLDPAY_HKD_RATES", str, "EUR:8.5,GBP:9.9,SGD:5.8"),
    # The Worldpay simulator's events: the Events spec's shapes, or the richer ones it first sent.
    Setting("SANDBOX_WORLDPAY_EVENT_SHAPE", _one_of("spec", "rich"), "spec"),
    # Whether the Worldpay simulator sends refunded at all (the Events spec: "only in certain use cases").
    Setting("SANDBOX_WORLDPAY_REFUNDED_EVENTS", _bool, True),
    # How the Worldpay simulator writes its Event-Signature HMACs (the documentation does not say).
    Setting("SANDBOX_WORLDPAY_SIGNATURE_ENCODING", _one_of("hex", "base64"), "hex"),
    # The HK ACH simulator: the seed's reading of the API (202 on submit, status 202/200/400 by
    # outcome) instead of the published one; a batch failing validation refused with 400 instead
    # of kept as 201 RJCT; the bank's rate limits (10 tokens an hour, 30 submits and 90 status
    # calls a minute, 2 a second); closure days beyond Hong Kong's public holidays (ISO dates, commas).
    Setting("SANDBOX_HKACH_SEED_MODE", _bool, False),
    Setting("SANDBOX_HKACH_REJECT_WITH_400", _bool, False),
    Setting("SANDBOX_HKACH_RATE_LIMITS", _bool, True),
    Setting("SANDBOX_HKACH_HOLIDAYS", str, ""),
]


#: The shortest SECRET_KEY (or AUDIT_KEY) accepted: they sign every session cookie and CSRF token,
#: and every audit entry.
MIN_SECRET_KEY_LENGTH = 32
#: Keys made of random characters, generated into the instance folder for local runs.
_RANDOM_KEYS = ("SECRET_KEY", "AUDIT_KEY", "API_KEY_SECRET")


def is_local_run(settings: Mapping[str, Any]) -> bool:
    """Return whether the settings describe a run on this machine (tests, the sandbox, a loopback URL),
    where secrets may be generated and no real provider will post to us."""
    loopback = is_loopback_url(settings["PUBLIC_BASE_URL"])
    return bool(settings.get("TESTING") or settings["SANDBOX"] or loopback)


def is_loopback_url(url: str) -> bool:
    """Return whether ``url`` points at this machine (127.0.0.0/8, ::1, localhost).

    Only an address is read as one: ``127.0.0.1.evil.example`` is a name anybody may register.
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_app_or_loopback(url: str, public_base_url: str) -> bool:
    """Return whether ``url`` is this app itself or loopback (where a sandbox may talk)."""
    return is_loopback_url(url) or url.startswith(public_base_url.rstrip("/") + "/")


def sandbox_base_url(config: Mapping[str, Any]) -> str:
    """Return the public URL of the simulators (``SANDBOX_BASE_URL`` or ``PUBLIC_BASE_URL/sandbox``)."""
    return (config.get("SANDBOX_BASE_URL") or config["PUBLIC_BASE_URL"] + "/sandbox").rstrip("/")


def sandbox_provider_url(config: Mapping[str, Any], name: str, simulator_path: str) -> str:
    """Return setting ``name`` or the simulator's URL; refuse anything but this app or loopback."""
    base_url = (config.get(name) or sandbox_base_url(config) + simulator_path).rstrip("/")
    if not is_app_or_loopback(base_url, config["PUBLIC_BASE_URL"]):
        raise ConfigError(
            f"{name} {base_url} is neither this app nor loopback; SANDBOX=1 never talks to a "
            "real provider (unset it to use the simulator)"
        )
    return base_url


def _instance_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """Read or atomically create a local-only secret file under the instance folder."""
    path = instance_path / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    return path.read_text().strip()


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict:
    """Return validated settings: ``overrides`` win over ``environ`` win over defaults.

    :param overrides: a mapping given to ``create_app`` (tests, the demo command)
    :param environ: the environment; ``os.environ`` when omitted
    """
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}

    raw_instance = overrides.get("INSTANCE_PATH", environ.get("INSTANCE_PATH") or "instance")
    instance_path = Path(raw_instance).expanduser().resolve()
    settings["INSTANCE_PATH"] = str(instance_path)

    for setting in SETTINGS:
        raw = overrides.pop(setting.name) if setting.name in overrides else environ.get(setting.name)
        if raw is None or raw == "":
            settings[setting.name] = setting.default
            continue
        try:
            settings[setting.name] = setting.parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{setting.name} {exc}") from None

    overrides.pop("INSTANCE_PATH", None)
    settings.update(overrides)

    if (
        settings["SANDBOX"]
        and not settings.get("TESTING")
        and not is_loopback_url(settings["PUBLIC_BASE_URL"])
    ):
        raise ConfigError(
            f"SANDBOX is on at {settings['PUBLIC_BASE_URL']}; the simulators and generated secrets are for "
            "this machine only (use a loopback PUBLIC_BASE_URL, or unset SANDBOX)"
        )
    for name in _RANDOM_KEYS:
        key = settings[name]
        if key is not None and len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"{name} is {len(key)} characters; use at least {MIN_SECRET_KEY_LENGTH} random ones "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
    local = is_local_run(settings)
    for name in (*_RANDOM_KEYS, "DATA_ENCRYPTION_KEYS"):
        if settings[name] is None and not local:
            raise ConfigError(f"{name} is not set; a deployment at {settings['PUBLIC_BASE_URL']} needs it")
    if any(settings[name] is None for name in (*_RANDOM_KEYS, "DATA_ENCRYPTION_KEYS")):
        instance_path.mkdir(parents=True, exist_ok=True)
    generated = []
    for name in _RANDOM_KEYS:
        if settings[name] is None:
            # Local runs only (loopback URL or sandbox): a per-instance key, made once.
            settings[name] = _instance_secret(instance_path, name.lower(), lambda: secrets.token_urlsafe(48))
            generated.append(name)
    if settings["DATA_ENCRYPTION_KEYS"] is None:
        key = _instance_secret(instance_path, "data_encryption_key", lambda: Fernet.generate_key().decode())
        settings["DATA_ENCRYPTION_KEYS"] = (key,)
        generated.append("DATA_ENCRYPTION_KEYS")
    #: Names whose values were generated into the instance folder (never for a deployment).
    settings["GENERATED_SECRETS"] = tuple(generated)
    if settings["DATABASE_URL"] is None:
        instance_path.mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{instance_path / 'dashboard.db'}"
    if settings["AUDIT_CHECKPOINT_FILE"] is None:
        settings["AUDIT_CHECKPOINT_FILE"] = str(instance_path / "audit-checkpoints.log")
    return settings


def require_production_settings(settings: Mapping[str, Any]) -> None:
    """Refuse to serve real traffic with locally generated secrets or the sandbox on."""
    if settings.get("SANDBOX"):
        raise ConfigError("SANDBOX is on; `serve` is for a real install (use `demo` for the sandbox)")
    for name in settings.get("GENERATED_SECRETS", ()):
        raise ConfigError(f"{name} is not set; `serve` needs it in the environment")
