"""Worldpay in the provider registry: its client, event signatures, identities and answers."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from dashboard.providers.base import sandbox_offer
from dashboard.providers.entry import Provider
from dashboard.providers.entry import Verdict
from dashboard.providers.entry import Webhook
from dashboard.providers.entry import WebhookAnswer
from dashboard.providers.entry import app_cached
from dashboard.providers.entry import header
from dashboard.providers.worldpay.client import WorldpayClient
from dashboard.providers.worldpay.consts import CORRELATION_HEADER
from dashboard.providers.worldpay.consts import PROVIDER
from dashboard.providers.worldpay.consts import SIGNATURE_HEADER
from dashboard.providers.worldpay.consts import EventName
from dashboard.providers.worldpay.guidance import GUIDANCE
from dashboard.providers.worldpay.mapping import event_news
from dashboard.providers.worldpay.mapping import event_subject
from dashboard.providers.worldpay.mapping import identify_event
from dashboard.providers.worldpay.settings import DEFAULT_WEBHOOK_PATH
from dashboard.providers.worldpay.settings import check_startup
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


def check_signature(app: Flask, headers: Mapping[str, str], body: bytes) -> Verdict:
    """Check the ``Event-Signature`` HMACs against every configured keyId (§1.10.4)."""
    signed = header(headers, SIGNATURE_HEADER)
    if not signed:
        return Verdict.MISSING
    return Verdict.VALID if verify_event(body, signed, webhook_secrets(app)) else Verdict.INVALID


WORLDPAY: Provider[WorldpayClient] = Provider(
    code=PROVIDER,
    label="Worldpay",
    build_client=from_app,
    webhook=Webhook(
        check_signature=check_signature,
        identify=identify_event,
        subject_of=event_subject,
        read_notification=event_news,
        notification_kinds=tuple(sorted((name.value for name in EventName), key=str.lower)),
        kept_headers=("Content-Type", SIGNATURE_HEADER, CORRELATION_HEADER, "User-Agent"),
        path_setting="WORLDPAY_WEBHOOK_PATH",
        default_path=DEFAULT_WEBHOOK_PATH,
        # Worldpay wants any 2xx; a bad signature gets 400 so it is visibly refused.
        acknowledgement=WebhookAnswer(200),
        refusal=WebhookAnswer(400),
    ),
    check_settings=check_startup,
    guidance=GUIDANCE,
)
