"""The approvals queue shows the requests waiting longest, never every waiting request at once."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import event

from dashboard.approvals.service import QUEUE_SHOWN
from dashboard.extensions import db
from tests.factories import make_payment
from tests.factories import make_refund

ASKED = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def add_waiting_refunds(app, count: int) -> list[int]:
    """Commit ``count`` refunds awaiting approval, one asked each minute (oldest first); return their ids."""
    with app.app_context():
        payment = make_payment(db.session, amount_minor=10_000_000, status="succeeded")
        ids = [
            make_refund(
                db.session, payment, status="awaiting_approval", created_at=ASKED + timedelta(minutes=minute)
            ).id
            for minute in range(count)
        ]
        db.session.commit()
    return ids


def test_the_queue_shows_those_waiting_longest_and_says_how_many_wait(app, client, login_as):
    ids = add_waiting_refunds(app, QUEUE_SHOWN + 2)
    login_as("manager")
    page = client.get("/approvals/").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'<article [^>]*id="approval-refund-(\d+)"', page)]
    assert shown == ids[:QUEUE_SHOWN]
    assert f"The {QUEUE_SHOWN} waiting longest of {QUEUE_SHOWN + 2} are shown" in page


def test_a_page_counts_what_waits_once_in_one_statement(app, client, login_as):
    add_waiting_refunds(app, QUEUE_SHOWN + 2)
    login_as("manager")
    counts: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower():
            counts.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        page = client.get("/approvals/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    # The navigation's badge and the queue's "of N" read the same count, refunds' and batches' together.
    assert len(counts) == 1
    assert "FROM refunds" in counts[0] and "FROM ach_batches" in counts[0]
    assert f"of {QUEUE_SHOWN + 2} are shown" in page


def test_a_short_queue_shows_everything_without_a_notice(app, client, login_as):
    ids = add_waiting_refunds(app, 3)
    login_as("manager")
    page = client.get("/approvals/").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<article [^>]*id="approval-refund-(\d+)"', page)] == ids
    assert "approvals-more" not in page


def test_a_request_beyond_those_shown_can_still_be_decided(app, client, login_as, post):
    newest = add_waiting_refunds(app, QUEUE_SHOWN + 1)[-1]
    login_as("manager")
    key = f"refund-{newest}"
    answer = post(
        f"/approvals/refund/{newest}", {f"{key}-decision": "reject"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 422  # found and checked: a rejection needs a comment
    assert f'id="approval-{key}"' in answer.get_data(as_text=True)
