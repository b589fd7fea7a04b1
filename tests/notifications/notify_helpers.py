"""Signed provider notifications written from the provider notes, and ways to read what they did.

Antom: RSA-SHA256 over ``POST <notify path>\\n<Client-Id>.<Request-Time>.<body>`` with the
simulator's "Antom" private key (``ensure_keys``). Worldpay: ``{keyId}/SHA256/{hex HMAC}`` of the
raw body with the configured secret, computed here with hashlib rather than the app's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

import requests
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.notifications.handlers import WAITING
from dashboard.notifications.models import Notification
from dashboard.providers.antom.settings import DEFAULT_SANDBOX_CLIENT_ID
from dashboard.providers.antom.signatures import build_signature_header
from dashboard.providers.antom.signatures import sign
from dashboard.reports.models import DailyTotal
from dashboard.sandbox.keys import ensure_keys
from tests.providers.worldpay.samples import payload

ANTOM_PATH = "/webhooks/antom"
WORLDPAY_PATH = "/webhooks/worldpay"
#: The acknowledgement Antom stops retrying on, byte for byte (antom.md §3.5).
ANTOM_ACK = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
REQUEST_TIME = "2026-01-05T10:00:00+08:00"


def as_bytes(body: Mapping[str, Any] | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()


def antom_headers(
    app: Flask,
    body: bytes,
    *,
    path: str = ANTOM_PATH,
    client_id: str = DEFAULT_SANDBOX_CLIENT_ID,
    key=None,
    content_type: str = "application/json; charset=UTF-8",
) -> dict[str, str]:
    """Return the headers Antom sends with ``body`` POSTed to ``path``, signed with the simulator's key."""
    private_key = key or ensure_keys(app.config["INSTANCE_PATH"]).antom.private_key
    signature = sign(private_key, "POST", path, client_id, REQUEST_TIME, body)
    return {
        "Content-Type": content_type,
        "Client-Id": client_id,
        "Request-Time": REQUEST_TIME,
        "Signature": build_signature_header(signature),
    }


def post_antom(app: Flask, body: Mapping[str, Any] | bytes, **options: Any):
    """POST a correctly signed Antom notification to the app's webhook; return the response."""
    raw = as_bytes(body)
    headers = options.pop("headers", None) or antom_headers(app, raw, **options)
    return app.test_client().post(ANTOM_PATH, data=raw, headers=headers)


def worldpay_secrets(app: Flask) -> dict[str, str]:
    return dict(app.extensions["sandbox"].worldpay.webhook_secrets)


def event_signature(body: bytes, secrets: Mapping[str, str], encoding: str = "hex") -> str:
    """Return an ``Event-Signature`` value with one signature per keyId (§1.10.4), in hex or base64."""

    def written(secret: str) -> str:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()

    return ",".join(f"{key_id}/SHA256/{written(secret)}" for key_id, secret in secrets.items())


def post_worldpay(app: Flask, body: Mapping[str, Any] | bytes, signature: str | None = None):
    """POST a Worldpay event signed with the app's configured secrets (or the given header)."""
    raw = as_bytes(body)
    if signature is None:
        signature = event_signature(raw, worldpay_secrets(app))
    headers = {"Content-Type": "application/vnd.worldpay.events-v1.hal+json", "Event-Signature": signature}
    return app.test_client().post(WORLDPAY_PATH, data=raw, headers=headers)


def post_worldpay_over_http(
    app: Flask, url: str, body: Mapping[str, Any] | bytes, *, encoding: str = "hex"
) -> requests.Response:
    """POST a Worldpay event over HTTP to the served app's real webhook, signed as Worldpay signs."""
    raw = as_bytes(body)
    headers = {
        "Content-Type": "application/vnd.worldpay.events-v1.hal+json",
        "Event-Signature": event_signature(raw, worldpay_secrets(app), encoding),
    }
    return requests.post(url + WORLDPAY_PATH, data=raw, headers=headers, timeout=10)


def spec_event(
    sample: str,
    transaction_reference: str,
    *,
    minor: int | None = None,
    reference: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Return a stored sample event (tests/payloads/worldpay, shaped as the Events spec's schema)
    about our sale: its eventId, transactionReference, and optionally amount and reference, changed."""
    body = payload(sample)
    details = body["eventDetails"]
    body["eventId"] = event_id or str(uuid.uuid4())
    details["transactionReference"] = transaction_reference
    if minor is not None:
        details["amount"]["value"] = minor
    if reference is not None:
        details["reference"] = reference
    return body


def payment_result(
    request_id: str,
    payment_id: str,
    status: str = "S",
    *,
    minor: int = 12850,
    currency: str = "HKD",
    code: str | None = None,
) -> dict[str, Any]:
    """Return a notifyPayment PAYMENT_RESULT body (antom.md §5.3)."""
    body: dict[str, Any] = {
        "notifyType": "PAYMENT_RESULT",
        "result": {
            "resultCode": code or ("SUCCESS" if status == "S" else "USER_BALANCE_NOT_ENOUGH"),
            "resultStatus": status,
            "resultMessage": "success" if status == "S" else "The user balance is not enough.",
        },
        "paymentRequestId": request_id,
        "paymentId": payment_id,
        "paymentAmount": {"currency": currency, "value": str(minor)},
        "paymentCreateTime": "2026-01-05T10:00:00+08:00",
    }
    if status == "S":
        body["paymentTime"] = "2026-01-05T10:00:01+08:00"
    return body


def token_canceled(access_token: str, reason: str = "User unbound the merchant in the wallet app") -> dict:
    """Return a notifyAuthorization TOKEN_CANCELED body (antom.md §2.2)."""
    return {
        "authorizationNotifyType": "TOKEN_CANCELED",
        "accessToken": access_token,
        "reason": reason,
        "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"},
    }


def dispute_notice(
    kind: str,
    request_id: str,
    payment_id: str,
    *,
    dispute_id: str = "2026010525013101157301040001",
    minor: int = 10001,
    **extra: Any,
) -> dict[str, Any]:
    """Return a notifyDispute body shaped as the notification-of-dispute example in Antom's dispute
    guide (cashierpay/dispute) and the fields of ams/notify_dispute: no notifyType, no result."""
    body: dict[str, Any] = {
        "disputeAmount": {"currency": "HKD", "value": str(minor)},
        "disputeId": dispute_id,
        "disputeNotificationType": kind,
        "disputeTime": "2026-01-06T09:41:32+08:00",
        "disputeReasonMsg": "The customer says the service was not provided.",
        "disputeSource": "ALIPAY_HK",
        "paymentId": payment_id,
        "paymentRequestId": request_id,
    }
    if kind in ("DISPUTE_CREATED", "DEFENSE_DUE_ALERT"):
        body["defenseDueTime"] = "2026-01-13T09:41:32+08:00"
    if kind == "DISPUTE_JUDGED":
        body["disputeJudgedTime"] = "2026-01-10T12:00:00+08:00"
        body["disputeJudgedAmount"] = {"currency": "HKD", "value": str(minor)}
    return {**body, **extra}


def worldpay_event(
    transaction_reference: str,
    event_type: str,
    *,
    event_id: str | None = None,
    minor: int = 12345,
    reference: str | None = None,
    timestamp: str = "2026-01-05T02:00:01.000",
) -> dict[str, Any]:
    """Return a Worldpay payment event body (worldpay_hkach.md §1.10.2)."""
    details: dict[str, Any] = {
        "classification": "payment",
        "downstreamReference": "3378792436",
        "transactionReference": transaction_reference,
        "type": event_type,
        "date": "2026-01-05",
        "amount": {"value": minor, "currencyCode": "HKD"},
        "_links": {"payment": {"href": ""}},
    }
    if reference is not None:
        details["reference"] = reference
    return {"eventId": event_id or str(uuid.uuid4()), "eventTimestamp": timestamp, "eventDetails": details}


# --- reading what happened -----------------------------------------------------------------------------


def notifications() -> list[Notification]:
    """Every stored notification, oldest first, read afresh."""
    db.session.rollback()
    return list(db.session.scalars(select(Notification).order_by(Notification.id)))


def waiting() -> list[int]:
    """The stored notifications the appliers will take, in the order they take them."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Notification.id).where(*WAITING).order_by(Notification.received_at, Notification.id)
        )
    )


def timeline(object_type: str, object_id: int | str) -> list[Event]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.object_type == object_type, Event.object_id == str(object_id))
            .order_by(Event.id)
        )
    )


def kinds(object_type: str, object_id: int | str) -> list[str]:
    return [event.kind for event in timeline(object_type, object_id)]


def status_changes(object_type: str, object_id: int | str) -> list[list[str]]:
    return [e.summary["status"] for e in timeline(object_type, object_id) if e.kind == "status_changed"]


def notes(object_type: str, object_id: int | str) -> list[tuple[int, str]]:
    """The ``notification`` entries on a timeline: (notification id, outcome)."""
    return [
        (e.notification_id, e.summary["outcome"])
        for e in timeline(object_type, object_id)
        if e.kind == "notification"
    ]


def totals() -> dict[str, int]:
    """The daily rollup counts by status (non-zero buckets)."""
    db.session.rollback()
    statement = select(DailyTotal.status, func.sum(DailyTotal.count)).group_by(DailyTotal.status)
    rows = db.session.execute(statement)
    return {status: count for status, count in rows if count}
