"""The webhooks as a provider sees them: what they answer, what they store, what they queue."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from dashboard.db import writers_lock
from dashboard.extensions import db
from dashboard.extensions import limiter
from dashboard.notifications.models import Notification
from dashboard.notifications.webhooks import UNVERIFIED_LIMIT
from dashboard.payments.models import Payment
from dashboard.security import CONTENT_SECURITY_POLICY
from tests.notifications.notify_helpers import ANTOM_ACK
from tests.notifications.notify_helpers import ANTOM_PATH
from tests.notifications.notify_helpers import WORLDPAY_PATH
from tests.notifications.notify_helpers import antom_headers
from tests.notifications.notify_helpers import as_bytes
from tests.notifications.notify_helpers import event_signature
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import post_worldpay
from tests.notifications.notify_helpers import waiting
from tests.notifications.notify_helpers import worldpay_event
from tests.notifications.notify_helpers import worldpay_secrets

#: Exactly as a provider might send it: its own spacing, non-ASCII text, a trailing newline.
RAW_BODY = (
    '{ "notifyType" : "PAYMENT_RESULT",\n'
    '  "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success \u6210\u529f"},\n'
    '  "paymentRequestId": "PAY-RAW-1", "paymentId": "2026010519401080010018880000001",\n'
    '  "paymentAmount": {"currency": "HKD", "value": "12850"},\n'
    '  "paymentCreateTime": "2026-01-05T10:00:00+08:00", "paymentTime": "2026-01-05T10:00:01+08:00"}\n'
).encode("utf-8")


def queued(app) -> list[tuple[str, tuple]]:
    """The jobs waiting in the app's queue: (name, args)."""
    return [(task.name, task.args) for task in app.extensions["huey"].pending()]


def refused_by_antom_rules(response) -> bool:
    """Antom retries unless it gets HTTP 200 with result S / SUCCESS (antom.md §3.5)."""
    answer = response.get_json(silent=True) or {}
    result = answer.get("result") or {}
    return response.status_code != 200 or result.get("resultStatus") != "S"


# --- Antom ---------------------------------------------------------------------------------------------


def test_a_signed_antom_notification_is_acknowledged_stored_raw_and_waits_to_be_applied(sandboxed):
    app = sandboxed.app
    headers = antom_headers(app, RAW_BODY)

    response = app.test_client().post(ANTOM_PATH, data=RAW_BODY, headers=headers)

    assert response.status_code == 200
    assert response.get_data() == ANTOM_ACK
    assert response.mimetype == "application/json"
    assert response.headers["Content-Length"] == str(len(ANTOM_ACK))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    [row] = notifications()
    assert row.body == RAW_BODY
    assert {name: row.headers.get(name) for name in headers} == headers
    assert (row.provider, row.kind) == ("antom", "PAYMENT_RESULT")
    assert row.reference == "2026010519401080010018880000001"
    assert (row.verdict, row.outcome, row.processed_at) == ("valid", "pending", None)
    assert row.dedup_key is not None and row.duplicate_of_id is None
    assert waiting() == [row.id] and queued(app) == []  # one write: the row is the queue

    assert sandboxed.run_jobs() == 1
    [row] = notifications()
    assert row.outcome == "applied" and row.object_type == "payment"


def test_webhook_answers_set_no_cookie(sandboxed):
    app = sandboxed.app
    client = app.test_client()

    signed = client.post(ANTOM_PATH, data=RAW_BODY, headers=antom_headers(app, RAW_BODY))
    unsigned = client.post(ANTOM_PATH, data=RAW_BODY, content_type="application/json")

    assert signed.status_code == 200 and refused_by_antom_rules(unsigned)
    assert "Set-Cookie" not in signed.headers and "Set-Cookie" not in unsigned.headers
    assert client.get_cookie("back_office_session") is None


def test_notifications_arriving_together_are_each_stored_once_and_redeliveries_as_duplicates(sandboxed):
    app = sandboxed.app
    bodies = [
        as_bytes(payment_result(f"PAY-TOGETHER-{number}", f"2026010519401080010018880000{number:03d}"))
        for number in range(8)
    ]
    sent = [*bodies, *bodies[:3]]  # three redelivered while their first delivery is being stored

    def deliver(body: bytes):
        headers = antom_headers(app, body)
        return requests.post(sandboxed.url + ANTOM_PATH, data=body, headers=headers, timeout=30)

    # The writers wait while the POSTs arrive, so on SQLite they are stored in shared transactions,
    # originals and redeliveries in the same one.
    with ThreadPoolExecutor(len(sent)) as pool:
        with writers_lock(db.engine):
            answers = pool.map(deliver, sent)
            time.sleep(0.5)
        answers = list(answers)

    assert [(answer.status_code, answer.content) for answer in answers] == [(200, ANTOM_ACK)] * len(sent)
    rows = notifications()
    originals = {row.body: row.id for row in rows if row.duplicate_of_id is None}
    assert sorted(originals) == sorted(bodies)
    assert all(row.verdict == "valid" for row in rows)
    duplicates = sorted((row.body, row.duplicate_of_id, row.outcome) for row in rows if row.duplicate_of_id)
    assert duplicates == sorted((body, originals[body], "duplicate") for body in bodies[:3])
    assert sorted(waiting()) == sorted(originals.values())


@pytest.mark.postgres
def test_a_notification_arriving_after_the_database_dropped_our_connections_is_stored(sandboxed):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("connections the server drops are a PostgreSQL matter")
    webhook_app = sandboxed.app
    first = RAW_BODY.replace(b"0000001", b"0000008")
    assert post_antom(webhook_app, first).status_code == 200
    db.session.remove()
    db.engine.dispose()
    with db.engine.connect() as pooled:  # the pool's only connection from now on
        pid = pooled.scalar(text("SELECT pg_backend_pid()"))
    # A restart, a failover or an idle timeout: the server ends the pooled session (from a
    # connection of its own, so no other test's connection is touched).
    with psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(False)) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    try:
        response = post_antom(webhook_app, RAW_BODY)
        stored = [row.body for row in notifications()]
    finally:
        db.session.remove()
        db.engine.dispose()

    assert response.status_code == 200 and response.get_data() == ANTOM_ACK
    assert stored == [first, RAW_BODY]


def test_a_flood_of_unsigned_posts_is_limited_but_signed_notifications_never_are(make_app):
    previous = limiter.enabled
    app = make_app(SANDBOX=True, RATELIMIT_ENABLED=True)
    limiter.reset()
    try:
        client = app.test_client()
        flood = [
            client.post(ANTOM_PATH, data=RAW_BODY, content_type="application/json")
            for _ in range(UNVERIFIED_LIMIT.amount + 1)
        ]
        signed = [
            client.post(ANTOM_PATH, data=body, headers=antom_headers(app, body))
            for body in (RAW_BODY, RAW_BODY.replace(b"0000001", b"0000009"))
        ]
        with app.app_context():
            stored = db.session.execute(
                select(Notification.verdict, func.count()).group_by(Notification.verdict)
            ).all()
    finally:
        limiter.reset()
        limiter.enabled = previous

    assert all(refused_by_antom_rules(response) for response in flood)
    assert [response.status_code for response in flood].count(429) == 1 and flood[-1].status_code == 429
    assert 1 <= int(flood[-1].headers["Retry-After"]) <= 60
    assert [response.status_code for response in signed] == [200, 200]
    assert dict(stored) == {"missing": UNVERIFIED_LIMIT.amount, "valid": 2}


@pytest.mark.parametrize(
    ("tamper", "verdict"),
    [
        ("body", "invalid"),
        ("key", "invalid"),
        ("client_id", "invalid"),
        ("path", "invalid"),
        ("no_signature", "missing"),
    ],
)
def test_an_unverified_antom_notification_is_stored_flagged_refused_and_never_applied(
    sandboxed, tamper, verdict
):
    app = sandboxed.app
    body = json.dumps(payment_result("PAY-FORGED-1", "2026010519401080010018880000002")).encode()
    if tamper == "body":
        headers = antom_headers(app, body.replace(b"12850", b"99999"))
    elif tamper == "key":
        # Signed by someone holding a key that is not Antom's (here the merchant's own).
        merchant_key = app.extensions["sandbox"].keys.merchant.private_key
        headers = antom_headers(app, body, key=merchant_key)
    elif tamper == "client_id":
        headers = antom_headers(app, body, client_id="SANDBOX_SOMEONE_ELSE")
    elif tamper == "path":
        headers = antom_headers(app, body, path="/somewhere/else")
    else:
        headers = antom_headers(app, body)
        del headers["Signature"]

    response = app.test_client().post(ANTOM_PATH, data=body, headers=headers)

    assert refused_by_antom_rules(response)
    assert response.get_data() != ANTOM_ACK
    [row] = notifications()
    assert row.body == body
    assert (row.verdict, row.outcome) == (verdict, "rejected")
    assert row.dedup_key is None and row.processed_at is not None
    assert queued(app) == []
    sandboxed.run_jobs()
    assert db.session.scalars(select(Payment)).all() == []
    assert notifications()[0].outcome == "rejected"


def _reshaped(headers: dict[str, str], layout: str) -> dict[str, str]:
    """Return the headers with the same signature value laid out as ``layout``."""
    value = headers["Signature"].split("signature=", 1)[1]
    return {**headers, "Signature": layout.format(value=value)}


@pytest.mark.parametrize(
    "layout",
    [
        "signature={value},keyVersion=1,algorithm=RSA256",
        "algorithm=RSA256,signature={value}",
        "signature={value}",
        "keyVersion=1, signature={value}, algorithm=RSA256",
    ],
)
def test_a_signature_header_in_another_order_or_without_key_version_is_accepted(sandboxed, layout):
    app = sandboxed.app
    body = json.dumps(payment_result("PAY-LAYOUT-1", "2026010519401080010018880000011")).encode()
    headers = _reshaped(antom_headers(app, body), layout)

    response = app.test_client().post(ANTOM_PATH, data=body, headers=headers)

    assert (response.status_code, response.get_data()) == (200, ANTOM_ACK)
    [row] = notifications()
    assert (row.verdict, row.headers["Signature"]) == ("valid", headers["Signature"])
    assert sandboxed.run_jobs() == 1
    assert notifications()[0].outcome == "applied"


def test_a_signature_header_naming_another_algorithm_is_refused(sandboxed):
    app = sandboxed.app
    body = json.dumps(payment_result("PAY-LAYOUT-2", "2026010519401080010018880000012")).encode()
    headers = _reshaped(antom_headers(app, body), "signature={value},algorithm=RSA512,keyVersion=1")

    response = app.test_client().post(ANTOM_PATH, data=body, headers=headers)

    assert refused_by_antom_rules(response)
    [row] = notifications()
    assert (row.verdict, row.outcome) == ("invalid", "rejected")


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=UTF-8", 200),
        ("application/json", 200),
        ("Application/JSON ; charset=UTF-8", 200),
        ("application/vnd.x+json", 200),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
    ],
)
def test_only_json_content_types_are_accepted(sandboxed, content_type, status):
    body = json.dumps(payment_result("PAY-CT-1", "2026010519401080010018880000003")).encode()

    response = post_antom(sandboxed.app, body, content_type=content_type)

    assert response.status_code == status
    assert len(notifications()) == (1 if status == 200 else 0)


def test_a_body_over_64_kib_is_refused_and_nothing_is_stored(sandboxed):
    body = payment_result("PAY-BIG-1", "2026010519401080010018880000004")
    body["padding"] = "x" * (64 * 1024)
    raw = json.dumps(body).encode()
    assert len(raw) > 64 * 1024

    response = post_antom(sandboxed.app, raw)

    assert response.status_code == 413
    assert notifications() == []
    assert queued(sandboxed.app) == []


@pytest.mark.parametrize(("extra", "status"), [(1, 413), (4096, 413), (0, 200)])
def test_a_streamed_body_without_content_length_is_held_to_64_kib_too(sandboxed, extra, status):
    """Chunked transfer: no Content-Length, the server marks the input terminated."""
    body = payment_result("PAY-BIG-3", "2026010519401080010018880000008")
    body["padding"] = ""
    body["padding"] = "x" * (64 * 1024 + extra - len(json.dumps(body).encode()))
    raw = json.dumps(body).encode()
    assert len(raw) == 64 * 1024 + extra

    response = sandboxed.app.test_client().post(
        ANTOM_PATH,
        input_stream=io.BytesIO(raw),
        headers={**antom_headers(sandboxed.app, raw), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == status
    assert [row.body for row in notifications()] == ([raw] if status == 200 else [])


def test_a_body_of_exactly_64_kib_is_accepted(sandboxed):
    body = payment_result("PAY-BIG-2", "2026010519401080010018880000005")
    body["padding"] = ""
    size = len(json.dumps(body).encode())
    body["padding"] = "x" * (64 * 1024 - size)
    raw = json.dumps(body).encode()
    assert len(raw) == 64 * 1024

    assert post_antom(sandboxed.app, raw).status_code == 200
    assert len(notifications()) == 1


def test_webhooks_need_no_csrf_token_while_other_posts_do(sandboxed):
    app = sandboxed.app
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    client = app.test_client()

    refused = client.post("/login", data={"email": "a@staff.example", "password": "x"})
    body = json.dumps(payment_result("PAY-CSRF-1", "2026010519401080010018880000006")).encode()
    accepted = client.post(ANTOM_PATH, data=body, headers=antom_headers(app, body))
    event = json.dumps(worldpay_event("DASH-CSRF-1", "authorized")).encode()
    accepted_too = post_worldpay(app, event)

    assert refused.status_code == 400
    assert (accepted.status_code, accepted.get_data()) == (200, ANTOM_ACK)
    assert accepted_too.status_code == 200


def test_the_notify_path_behind_a_proxy_is_the_public_one(make_app):
    app = make_app(SANDBOX=True, PUBLIC_BASE_URL="https://shop.example/bo", TRUSTED_PROXY_COUNT=1)
    body = json.dumps(payment_result("PAY-PROXY-1", "2026010519401080010018880000007")).encode()
    proxy = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "shop.example",
        "X-Forwarded-Prefix": "/bo",
    }
    client = app.test_client()

    # Antom signed the URL it called: https://shop.example/bo/webhooks/antom.
    public = client.post(
        ANTOM_PATH, data=body, headers={**antom_headers(app, body, path="/bo" + ANTOM_PATH), **proxy}
    )
    # A signature over the path the app sees after the proxy stripped /bo is not Antom's.
    internal = client.post(ANTOM_PATH, data=body, headers={**antom_headers(app, body), **proxy})

    assert (public.status_code, public.get_data()) == (200, ANTOM_ACK)
    assert refused_by_antom_rules(internal)
    with app.app_context():
        assert [row.verdict for row in notifications()] == ["valid", "invalid"]


# --- Worldpay ------------------------------------------------------------------------------------------


def test_a_worldpay_event_with_a_valid_signature_is_acknowledged_and_stored(sandboxed):
    app = sandboxed.app
    body = json.dumps(worldpay_event("DASH-ORD-1", "authorized", event_id="ev-valid-1"), indent=1).encode()

    response = post_worldpay(app, body)

    assert response.status_code == 200
    [row] = notifications()
    assert row.body == body
    assert row.headers["Event-Signature"] == event_signature(body, worldpay_secrets(app))
    assert row.headers["Content-Type"] == "application/vnd.worldpay.events-v1.hal+json"
    assert (row.provider, row.kind, row.reference, row.dedup_key) == (
        "worldpay",
        "authorized",
        "DASH-ORD-1",
        "ev-valid-1",
    )
    assert (row.verdict, row.outcome) == ("valid", "pending")
    assert waiting() == [row.id] and queued(app) == []  # one write: the row is the queue


@pytest.mark.parametrize(
    ("signature", "verdict"),
    [
        ("1/SHA256/" + "0" * 64, "invalid"),
        ("garbage", "invalid"),
        ("", "missing"),
    ],
)
def test_a_worldpay_event_with_a_bad_or_no_signature_gets_400_and_is_never_applied(
    sandboxed, signature, verdict
):
    body = json.dumps(worldpay_event("DASH-ORD-2", "authorized", event_id="ev-bad-1")).encode()

    response = post_worldpay(sandboxed.app, body, signature=signature)

    assert response.status_code == 400
    [row] = notifications()
    assert (row.verdict, row.outcome, row.dedup_key) == (verdict, "rejected", None)
    assert queued(sandboxed.app) == []


def test_a_worldpay_event_signed_for_another_body_is_refused(sandboxed):
    body = json.dumps(worldpay_event("DASH-ORD-3", "authorized")).encode()
    other = json.dumps(worldpay_event("DASH-ORD-3", "refused")).encode()

    signed_other = event_signature(other, worldpay_secrets(sandboxed.app))

    response = post_worldpay(sandboxed.app, body, signature=signed_other)

    assert response.status_code == 400
    assert [row.verdict for row in notifications()] == ["invalid"]


def test_during_a_key_rotation_either_configured_secret_verifies(make_app):
    app = make_app(SANDBOX=True, WORLDPAY_WEBHOOK_SECRETS="1:old-secret,2:new-secret")
    old, new = {"1": "old-secret"}, {"2": "new-secret"}

    def answer(event_id: str, signature_for) -> int:
        body = json.dumps(worldpay_event("DASH-ROT-1", "authorized", event_id=event_id)).encode()
        return post_worldpay(app, body, signature=signature_for(body)).status_code

    both = answer("ev-1", lambda body: event_signature(body, {**old, **new}))
    both_reordered = answer("ev-2", lambda body: event_signature(body, {**new, **old}))
    only_old = answer("ev-3", lambda body: event_signature(body, old))
    only_new = answer("ev-4", lambda body: event_signature(body, new))
    # The old key's part is stale (wrong secret) but the new one matches: still Worldpay's.
    one_good = answer("ev-5", lambda body: event_signature(body, {"1": "retired", **new}))
    unknown_key = answer("ev-6", lambda body: event_signature(body, {"3": "new-secret"}))
    wrong_secrets = answer("ev-7", lambda body: event_signature(body, {"1": "new-secret", "2": "old-secret"}))

    assert (both, both_reordered, only_old, only_new, one_good) == (200, 200, 200, 200, 200)
    assert (unknown_key, wrong_secrets) == (400, 400)
    with app.app_context():
        rows = notifications()
    assert [row.verdict for row in rows] == ["valid"] * 5 + ["invalid"] * 2
    assert [row.dedup_key for row in rows] == ["ev-1", "ev-2", "ev-3", "ev-4", "ev-5", None, None]


def test_worldpay_webhook_refuses_non_json_and_oversized_bodies(sandboxed):
    app = sandboxed.app
    body = json.dumps(worldpay_event("DASH-ORD-4", "authorized")).encode()
    signature = event_signature(body, worldpay_secrets(app))
    client = app.test_client()

    plain = client.post(
        WORLDPAY_PATH, data=body, headers={"Content-Type": "text/plain", "Event-Signature": signature}
    )
    big = json.dumps({**worldpay_event("DASH-ORD-4", "authorized"), "pad": "x" * 65536}).encode()
    oversized = post_worldpay(app, big)

    assert (plain.status_code, oversized.status_code) == (415, 413)
    assert notifications() == []
