"""The live-update feed: topics, the look-back window, bad input, passive polls, concurrent writers."""

from __future__ import annotations

import re
import threading

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy import text

from dashboard.events.models import Event
from dashboard.events.service import LOOK_BACK
from dashboard.events.service import record_event
from dashboard.events.views import MAX_TOPICS
from dashboard.extensions import db
from dashboard.notifications.models import Notification
from tests.conftest import skip_unless_postgresql
from tests.web.conftest import sign_in

ROLES = ["viewer", "support", "finance", "manager", "admin"]


def record(app: Flask, *events: tuple[str, int, str]) -> list[int]:
    """Commit events given as (object_type, object_id, kind) and return their ids."""
    with app.app_context():
        for object_type, object_id, kind in events:
            record_event(db.session, object_type, object_id, kind)
        db.session.commit()
        newest = db.session.scalars(select(Event.id).order_by(Event.id.desc()).limit(len(events)))
        return sorted(newest)


def poll(client, after: int, *topics: str):
    query = "&".join([f"after={after}", *(f"topic={topic}" for topic in topics)])
    return client.get(f"/live?{query}")


class Poller:
    """What app.js does: keep a cursor, drop ids the last answer had already."""

    def __init__(self, client, *topics: str):
        self.client, self.topics = client, topics
        self.cursor, self.seen, self.received = 0, set(), []

    def poll(self) -> None:
        body = poll(self.client, self.cursor, *self.topics).get_json()
        ids = [event["id"] for event in body["events"]]
        self.received += [event_id for event_id in ids if event_id not in self.seen]
        self.seen = set(ids)
        self.cursor = max(self.cursor, body["cursor"])


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_poll(client, login_as, role):
    login_as(role)
    response = poll(client, 0, "payment")
    assert response.status_code == 200
    assert response.get_json() == {"cursor": 0, "newest": {}, "events": []}


def test_a_poll_returns_events_on_its_topics_oldest_first_with_the_new_cursor(app, client, login_as):
    login_as("viewer")
    ids = record(
        app,
        ("payment", 12, "created"),
        ("payment", 13, "created"),
        ("agreement", 12, "status_changed"),
        ("payment", 12, "status_changed"),
    )
    response = poll(client, 0, "payment:12", "agreement")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["cursor"] == ids[3]
    assert body["events"] == [
        {
            "id": ids[0],
            "topic": "payment:12",
            "object_type": "payment",
            "object_id": "12",
            "kind": "created",
            "notification_id": None,
        },
        {
            "id": ids[2],
            "topic": "agreement:12",
            "object_type": "agreement",
            "object_id": "12",
            "kind": "status_changed",
            "notification_id": None,
        },
        {
            "id": ids[3],
            "topic": "payment:12",
            "object_type": "payment",
            "object_id": "12",
            "kind": "status_changed",
            "notification_id": None,
        },
    ]
    everything = poll(client, 0, "payment").get_json()["events"]
    assert [event["id"] for event in everything] == [ids[0], ids[1], ids[3]]


def test_a_poll_re_reads_a_window_behind_its_cursor_and_keeps_the_cursor_when_idle(app, client, login_as):
    login_as("viewer")
    ids = record(app, *[("payment", 1, "provider_call")] * (LOOK_BACK + 5))
    last = ids[-1]
    body = poll(client, last, "payment:1").get_json()
    assert body["cursor"] == last
    assert [event["id"] for event in body["events"]] == [i for i in ids if i > last - LOOK_BACK]
    assert poll(client, last + 1000, "payment:1").get_json() == {
        "cursor": last + 1000,
        "newest": {},
        "events": [],
    }


def test_a_repeated_topic_is_asked_once(app, client, login_as):
    login_as("viewer")
    record(app, ("payment", 5, "created"))
    assert len(poll(client, 0, "payment:5", "payment:5").get_json()["events"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        "topic=payment",  # no cursor
        "after=-1&topic=payment",
        "after=x&topic=payment",
        "after=0",  # no topic
        "after=0&topic=1payment",
        "after=0&topic=payment:1;drop",
        "after=0&topic=payment:1:2",
        "after=0&topic=pay ment",
        "after=99999999999999999999999&topic=payment",  # beyond any row id
        "after=²&topic=payment",  # a digit to str.isdigit, not to int()
        "after=0&" + "&".join(f"topic=payment:{n}" for n in range(MAX_TOPICS + 1)),
    ],
)
def test_bad_input_is_refused_with_400_and_a_reason(client, login_as, query):
    login_as("viewer")
    response = client.get(f"/live?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert response.headers["Cache-Control"] == "no-store"


def test_the_most_topics_a_page_may_ask_about_are_allowed(client, login_as):
    login_as("viewer")
    assert poll(client, 0, *(f"payment:{n}" for n in range(MAX_TOPICS))).status_code == 200


def test_anonymous_polls_are_sent_to_login(client):
    response = poll(client, 0, "payment")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def _seen(client) -> float:
    with client.session_transaction() as session:
        return session["seen"]


def test_polls_do_not_keep_an_idle_session_alive(client, login_as, fake_clock):
    login_as("viewer")
    signed_in = _seen(client)
    fake_clock.advance(minutes=29)
    assert poll(client, 0, "payment").status_code == 200
    assert _seen(client) == signed_in
    fake_clock.advance(minutes=2)  # 31 minutes without the user doing anything
    response = poll(client, 0, "payment")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_live_refresh_is_not_activity_but_opening_a_page_is(client, login_as, fake_clock):
    login_as("viewer")
    signed_in = _seen(client)
    fake_clock.advance(minutes=20)
    refresh = {"HX-Request": "true", "X-Live-Refresh": "true"}
    assert client.get("/payments/", headers=refresh).status_code == 200
    assert _seen(client) == signed_in
    assert client.get("/payments/").status_code == 200
    assert _seen(client) > signed_in
    fake_clock.advance(minutes=20)  # 40 minutes after sign-in, 20 after the last real request
    assert poll(client, 0, "payment").status_code == 200


# --- concurrent writers (PostgreSQL: ids from a sequence may commit out of order) ---------------


@pytest.fixture
def poller(app: Flask, live_db: None, create_user) -> Poller:
    browser = app.test_client()
    sign_in(browser, create_user("viewer"))
    return Poller(browser, "payment")


def _all_event_ids(app: Flask) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(Event.id).order_by(Event.id)))
        db.session.remove()
    return ids


@pytest.mark.postgres
def test_a_poller_never_skips_an_event_from_two_writers_in_overlapping_transactions(app, poller):
    skip_unless_postgresql(app, "out-of-order commits")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(40):
                with app.app_context():
                    # Two events per transaction; the other writer's transaction runs alongside.
                    record_event(db.session, "payment", writer * 1000 + n, "created")
                    db.session.execute(text("SELECT 1"))
                    record_event(db.session, "payment", writer * 1000 + n, "status_changed")
                    db.session.commit()
                    db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(number,)) for number in (1, 2)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        poller.poll()
    for thread in writers:
        thread.join(timeout=60)
    poller.poll()
    assert errors == []
    assert sorted(poller.received) == _all_event_ids(app)
    assert len(poller.received) == len(set(poller.received)) == 160


@pytest.mark.postgres
def test_the_look_back_catches_an_event_that_commits_after_a_higher_id(app, poller):
    skip_unless_postgresql(app, "out-of-order commits")
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer() -> None:
        # Bypasses record_event's lock, as a careless writer would: its id is older, its commit later.
        with app.app_context():
            db.session.add(Event(object_type="payment", object_id="1", kind="created"))
            db.session.flush()
            inserted.set()
            release.wait(timeout=30)
            db.session.commit()
            db.session.remove()
        done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(timeout=30)
    (fast,) = record(app, ("payment", 2, "created"))
    poller.poll()
    assert poller.received == [fast]
    release.set()
    assert done.wait(timeout=30)
    thread.join(timeout=30)
    poller.poll()
    (slow,) = [event_id for event_id in _all_event_ids(app) if event_id != fast]
    assert slow < fast
    assert poller.received == [fast, slow]


@pytest.mark.postgres
def test_appends_wait_for_each_other_so_ids_commit_in_order(app, poller):
    skip_unless_postgresql(app, "out-of-order commits")
    first_recorded, release = threading.Event(), threading.Event()

    def first_writer() -> None:
        with app.app_context():
            record_event(db.session, "payment", 1, "created")
            first_recorded.set()
            release.wait(timeout=30)
            db.session.commit()
            db.session.remove()

    def second_writer() -> None:
        with app.app_context():
            record_event(db.session, "payment", 2, "created")
            db.session.commit()
            db.session.remove()

    first = threading.Thread(target=first_writer)
    first.start()
    assert first_recorded.wait(timeout=30)
    second = threading.Thread(target=second_writer)
    second.start()
    with app.app_context():
        # Wait (on a condition, not a clock) until the second writer queues behind the first one's lock.
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        for _ in range(10_000):
            if db.session.execute(text(waiting)).scalar():
                break
            db.session.rollback()
        else:
            pytest.fail("the second append never waited for the first")
        db.session.remove()
    poller.poll()
    assert poller.received == []  # nothing committed yet, and nothing skipped later
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    poller.poll()
    assert poller.received == _all_event_ids(app)
    assert len(poller.received) == 2


def test_a_notification_topic_brings_the_events_that_notification_caused(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        rows = [
            Notification(
                provider="antom", kind="PAYMENT", body=b"{}", headers={}, verdict="valid", outcome="applied"
            )
            for _ in range(2)
        ]
        db.session.add_all(rows)
        db.session.flush()
        caused, other = (row.id for row in rows)
        record_event(db.session, "payment", 4, "notification", notification_id=caused)
        record_event(db.session, "payment", 4, "notification", notification_id=other)
        record_event(db.session, "agreement", 2, "status_changed", notification_id=caused)
        db.session.commit()
    events = poll(client, 0, f"notification:{caused}").get_json()["events"]
    assert [(event["topic"], event["notification_id"]) for event in events] == [
        ("payment:4", caused),
        ("agreement:2", caused),
    ]
    page = client.get(f"/notifications/{caused}").get_data(as_text=True)
    region = re.search(r'<div id="notification-detail"([^>]*)>', page).group(1)
    assert f'data-live-topic="notification:{caused}"' in region
    assert 'data-live-says="Notification processed"' in region


@pytest.mark.parametrize(
    "path",
    [
        "/payments/new?after=99999999999999999999999",
        "/agreements/new?after=²",
        "/notifications/new?after=99999999999999999999999",
        "/audit/new?after=-5",
        "/ach/batches/since?after=99999999999999999999999",
        "/payments/rows?id=99999999999999999999999&id=²",
        "/live?after=0&topic=notification:99999999999999999999999",
        "/live?after=0&topic=notification:²",
    ],
)
def test_numbers_out_of_range_never_break_a_live_answer(client, login_as, path):
    login_as("admin")
    assert client.get(path).status_code in (200, 400)
