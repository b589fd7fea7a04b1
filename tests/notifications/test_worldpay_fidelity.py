"""Worldpay as its published documents describe it, end to end: events shaped as the Events spec
shows them (tests/payloads/worldpay), POSTed over HTTP into the real webhook, and the simulator's
switches in both positions."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service as payments
from dashboard.payments.models import Payment
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import post_worldpay_over_http
from tests.notifications.notify_helpers import spec_event
from tests.notifications.notify_helpers import worldpay_secrets
from tests.sandbox import worldpay_helpers as wh


def fresh(model, object_id):
    db.session.rollback()
    return db.session.get(model, object_id)


def sale(minor: int = 12345) -> Payment:
    """An AlipayHK sale waiting for the shopper, with nothing queued."""
    payment = payments.create_alipayhk_payment(Money(minor, "HKD"), "Order 51")
    assert payment.status == "processing"
    return payment


# --- Event-Signature: hex or base64 ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_an_event_signed_in_hex_or_base64_is_accepted_and_applied(sandboxed, encoding):
    paying = sale()
    sandboxed.app.extensions["huey"].flush()
    body = spec_event("event_authorized", paying.request_id, minor=12345)

    answer = post_worldpay_over_http(sandboxed.app, sandboxed.url, body, encoding=encoding)
    sandboxed.run_jobs()

    assert answer.status_code == 200
    [row] = notifications()
    assert (row.verdict, row.outcome) == ("valid", "applied")
    assert fresh(Payment, paying.id).status == "succeeded"


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_the_simulator_signs_in_the_encoding_its_switch_names(sandboxed, monkeypatch, encoding):
    monkeypatch.setitem(sandboxed.app.config, "SANDBOX_WORLDPAY_SIGNATURE_ENCODING", encoding)
    refused = sale()
    wh.choose(refused.redirect_url, "refuse")

    sandboxed.settle()

    [row] = notifications()
    assert (row.verdict, row.outcome) == ("valid", "applied")
    [(key_id, secret)] = worldpay_secrets(sandboxed.app).items()
    digest = hmac.new(secret.encode(), row.body, hashlib.sha256).digest()
    written = base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()
    assert row.headers["Event-Signature"] == f"{key_id}/SHA256/{written}"
    assert fresh(Payment, refused.id).status == "failed"
