"""Worldpay in the provider registry: its client, event signatures, identities and answers."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from dashboard.providers.base import Provider
from dashboard.providers.base import Signature
from dashboard.providers.base import WebhookAnswer
from dashboard.providers.base import app_cached
from dashboard.providers.base import header
from dashboard.providers.base import sandbox_offer
from dashboard.providers.worldpay.client import WorldpayClient
from dashboard.providers.worldpay.consts import CORRELATION_HEADER
from dashboard.providers.worldpay.consts import PROVIDER
from dashboard.providers.worldpay.consts import SIGNATURE_HEADER
from dashboard.providers.worldpay.consts import EventName
from dashboard.providers.worldpay.mapping import event_news
from dashboard.providers.worldpay.mapping import event_subject
from dashboard.providers.worldpay.mapping import identify_event
from dashboard.providers.worldpay.settings import DEFAULT_WEBHOOK_PATH
from dashboard.providers.worldpay.settings import from_app
from dashboard.providers.worldpay.settings import resolve
from dashboard.providers.worldpay.signatures import verify_event


def webhook_secrets(app: Flask) -> Mapping[str, str]:
    """Return the app's ``Event-Signature`` secrets by keyId (several during a key rotation)."""
    return app_cached(
        app,
        "worldpay_webhook_secrets",
        lambda: dict(resolve(app.config, sandbox_offer(app.extensions, PROVIDER)).webhook_secrets),
    )


def check_signature(app: Flask, headers: Mapping[str, str], body: bytes) -> Signature:
    """Check the ``Event-Signature`` HMACs against every configured keyId (§1.10.4)."""
    signed = header(headers, SIGNATURE_HEADER)
    if not signed:
        return Signature.MISSING
    return Signature.VALID if verify_event(body, signed, webhook_secrets(app)) else Signature.INVALID


WORLDPAY: Provider[WorldpayClient] = Provider(
    code=PROVIDER,
    label="Worldpay",
    build_client=from_app,
    check_signature=check_signature,
    identify=identify_event,
    subject_of=event_subject,
    read_notification=event_news,
    notification_kinds=tuple(sorted((name.value for name in EventName), key=str.lower)),
    kept_headers=("Content-Type", SIGNATURE_HEADER, CORRELATION_HEADER, "User-Agent"),
    webhook_path_setting="WORLDPAY_WEBHOOK_PATH",
    default_webhook_path=DEFAULT_WEBHOOK_PATH,
    # Worldpay wants any 2xx; a bad signature gets 400 so it is visibly refused.
    acknowledgement=WebhookAnswer(200),
    refusal=WebhookAnswer(400),
)
