"""Rejected POSTs fill no disk: their verdict and headers are always kept, their bodies only as an
hourly sample and for a number of days; the inbox says how many there were."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard import clock
from dashboard.extensions import db
from dashboard.extensions import limiter
from dashboard.notifications.models import Notification
from dashboard.notifications.retention import purge_rejected_bodies
from dashboard.notifications.tasks import purge_old_rejected_bodies
from tests.notifications.notify_helpers import ANTOM_PATH
from tests.notifications.notify_helpers import antom_headers
from tests.notifications.notify_helpers import as_bytes
from tests.notifications.notify_helpers import payment_result


def stored(app) -> list[tuple[str, int, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notification.verdict, Notification.body, Notification.dropped_body_bytes).order_by(
                Notification.id
            )
        ).all()
        return [(verdict, len(body), dropped) for verdict, body, dropped in rows]


@pytest.fixture
def stored_row(sandboxed):
    """Return a factory storing one notification with a 17-byte body; it gives the row's id."""

    def store(**fields) -> int:
        row = Notification(
            provider="antom", kind="PAYMENT_RESULT", body=b'{"forged": true}\n', headers={}, **fields
        )
        db.session.add(row)
        db.session.commit()
        return row.id

    return store


def test_only_an_hourly_sample_of_rejected_bodies_is_kept(make_app):
    previous = limiter.enabled
    app = make_app(SANDBOX=True, RATELIMIT_ENABLED=True, REJECTED_BODIES_PER_HOUR=3)
    limiter.reset()
    body = as_bytes(payment_result("PAY-FORGED-1", "2026010519401080010018880000001"))
    try:
        client = app.test_client()
        answers = [client.post(ANTOM_PATH, data=body, content_type="application/json") for _ in range(5)]
        signed = client.post(ANTOM_PATH, data=body, headers=antom_headers(app, body))
    finally:
        limiter.reset()
        limiter.enabled = previous

    assert [answer.status_code for answer in answers] == [answers[0].status_code] * 5
    assert signed.status_code == 200
    size = len(body)
    assert stored(app) == [
        *[("missing", size, None)] * 3,
        *[("missing", 0, size)] * 2,
        ("valid", size, None),  # a verified notification is never sampled
    ]


def test_rejected_bodies_past_their_retention_are_emptied_and_nothing_else(sandboxed, stored_row):
    now = clock.now()
    old_rejected = stored_row(verdict="invalid", received_at=now - timedelta(days=31))
    recent_rejected = stored_row(verdict="missing", received_at=now - timedelta(days=29))
    old_valid = stored_row(verdict="valid", received_at=now - timedelta(days=400))

    with sandboxed.app.app_context():
        purge_old_rejected_bodies()
        rows = {row.id: row for row in db.session.scalars(select(Notification))}
        assert (rows[old_rejected].body, rows[old_rejected].dropped_body_bytes) == (b"", 17)
        assert (rows[recent_rejected].body, rows[recent_rejected].dropped_body_bytes) == (
            b'{"forged": true}\n',
            None,
        )
        assert rows[old_valid].body == b'{"forged": true}\n'
        # Once emptied, a row is not taken again.
        assert purge_rejected_bodies(db.session, now, 30) == 0
