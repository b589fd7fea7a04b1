"""Bodies no provider sends but anybody may: NUL characters, ids longer than any column, JSON
nested a thousand levels deep. Each is stored (a verified one acknowledged) and shown, never a 500."""

from __future__ import annotations

from dashboard.extensions import db
from dashboard.notifications.models import Notification
from tests.notifications.notify_helpers import ANTOM_ACK
from tests.notifications.notify_helpers import as_bytes
from tests.notifications.notify_helpers import notifications
from tests.notifications.notify_helpers import payment_result
from tests.notifications.notify_helpers import post_antom
from tests.notifications.notify_helpers import post_worldpay


def nested(levels: int) -> bytes:
    """A JSON body nested ``levels`` deep inside a notification-looking object."""
    return b'{"notifyType": "PAYMENT_RESULT", "deep": ' + b"[" * levels + b"]" * levels + b"}"


def test_a_signed_notification_with_a_nul_in_its_ids_is_stored_and_acknowledged(sandboxed):
    body = payment_result("PAY-NUL-\x00-1", "20260105194010800100\x0018880000001")

    answer = post_antom(sandboxed.app, body)

    assert (answer.status_code, answer.get_data()) == (200, ANTOM_ACK)
    [row] = notifications()
    assert row.verdict == "valid"
    assert row.body == as_bytes(body)  # the bytes as sent, NUL escapes and all
    assert "\x00" not in (row.reference or "") and "\x00" not in row.dedup_key


def test_a_signed_notification_with_an_id_longer_than_any_column_is_stored_and_acknowledged(sandboxed):
    body = payment_result("PAY-LONG-1", "2" * 300)

    first = post_antom(sandboxed.app, body)
    again = post_antom(sandboxed.app, body)

    assert (first.status_code, again.status_code) == (200, 200)
    original, duplicate = notifications()
    assert original.verdict == "valid" and len(original.dedup_key) <= 255
    # Bounded, the key still tells a redelivery from a new notification.
    assert (duplicate.outcome, duplicate.duplicate_of_id) == ("duplicate", original.id)


def test_json_nested_too_deep_to_read_is_stored_with_its_verdict(sandboxed):
    deep = nested(20_000)  # 40 KB, under the 64 KiB a webhook takes

    antom = post_antom(sandboxed.app, deep)
    worldpay = post_worldpay(sandboxed.app, deep, signature="k1/SHA256/00")

    assert antom.status_code == 200
    assert worldpay.status_code == 400  # Worldpay's refusal of a bad signature
    assert [(row.provider, row.verdict) for row in notifications()] == [
        ("antom", "valid"),
        ("worldpay", "invalid"),
    ]
    sandboxed.run_jobs()
    applied = notifications()[0]
    assert applied.outcome == "failed"
    assert "not JSON" in applied.processing_error


def test_a_stored_body_nested_too_deep_to_indent_is_shown_as_text(app, client, login_as):
    with app.app_context():
        row = Notification(
            provider="antom", kind="PAYMENT_RESULT", body=nested(900), headers={}, verdict="invalid"
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    login_as("viewer")

    page = client.get(f"/notifications/{row_id}")

    assert page.status_code == 200
    assert "[[[[[[[[" in page.get_data(as_text=True)


def test_a_notification_whose_kind_is_nothing_but_a_nul_is_stored_as_unreadable(sandboxed):
    signed = payment_result("PAY-NUL-KIND-1", "2026010519401080010018880000002")
    signed["notifyType"] = "\x00"

    antom = post_antom(sandboxed.app, signed)
    worldpay = post_worldpay(sandboxed.app, {"eventDetails": {"type": "\x00"}}, signature="k1/SHA256/00")

    assert (antom.status_code, worldpay.status_code) == (200, 400)
    assert [(row.provider, row.kind, row.verdict) for row in notifications()] == [
        ("antom", "unparseable", "valid"),
        ("worldpay", "unparseable", "invalid"),
    ]
