"""Jobs: released only after commit, drained by run_jobs, sweepers isolated, health reflects them.

The test task is declared at import (collection) time, before the session app binds the
declared tasks to Huey in ``create_app``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from dashboard import jobs
from dashboard.extensions import db
from dashboard.users.models import User

CALLS: list[tuple[str, ...]] = []


@jobs.task("tests.remember", jobs.RetryPolicy(retries=0, delay=0))
def remember(*values: str) -> None:
    """A job that records its arguments."""
    CALLS.append(values)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    yield
    CALLS.clear()


def pending(app) -> int:
    return jobs.queue_depth(app.extensions["huey"])


def add_user(email: str) -> None:
    db.session.add(User(email=email, name="Job", role="viewer", password_hash="x"))


def test_declared_task_is_bound_to_the_app_huey(app):
    assert remember.name in app.extensions["huey_tasks"]


def test_enqueue_after_commit_waits_for_the_commit(app, app_ctx, run_jobs):
    add_user("job1@staff.example")
    jobs.enqueue_after_commit(db.session, remember.name, "a")
    assert pending(app) == 0
    db.session.commit()
    assert pending(app) == 1
    assert run_jobs() == 1
    assert CALLS == [("a",)]
    assert pending(app) == 0


def test_enqueue_after_commit_is_dropped_on_rollback(app, app_ctx, run_jobs):
    add_user("job2@staff.example")
    jobs.enqueue_after_commit(db.session, remember.name, "lost")
    db.session.rollback()
    add_user("job3@staff.example")
    db.session.commit()
    assert pending(app) == 0
    assert run_jobs() == 0
    assert CALLS == []


def test_a_failed_inner_savepoint_drops_its_own_jobs_and_keeps_the_outer_transactions(app, app_ctx, run_jobs):
    add_user("job4@staff.example")
    jobs.enqueue_after_commit(db.session, remember.name, "kept")
    nested = db.session.begin_nested()
    add_user("job5@staff.example")
    jobs.enqueue_after_commit(db.session, remember.name, "undone")
    nested.rollback()
    with db.session.begin_nested():
        jobs.enqueue_after_commit(db.session, remember.name, "released")
    db.session.commit()
    assert run_jobs() == 2
    assert CALLS == [("kept",), ("released",)]


def test_run_jobs_drains_every_queued_job_in_order(app, app_ctx, run_jobs):
    for value in ("1", "2", "3"):
        remember.enqueue(value)
    assert pending(app) == 3
    assert run_jobs() == 3
    assert CALLS == [("1",), ("2",), ("3",)]
    assert run_jobs() == 0


def test_sweep_runs_every_sweeper_even_when_one_raises(monkeypatch, caplog):
    monkeypatch.setattr(jobs, "_SWEEPERS", [])
    ran: list[str] = []

    @jobs.sweeper
    def first() -> None:
        ran.append("first")

    @jobs.sweeper
    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("sweeper fell over")

    @jobs.sweeper
    def last() -> None:
        ran.append("last")

    jobs.sweeper(first)  # registering twice does not run it twice
    with caplog.at_level(logging.ERROR, logger="dashboard.jobs"):
        jobs.sweep()
    assert ran == ["first", "broken", "last"]
    assert "broken" in caplog.text


def test_healthz_reports_queue_depth(app, client, run_jobs):
    with app.app_context():
        remember.enqueue("x")
        remember.enqueue("y")
    assert client.get("/healthz").get_json()["queue_depth"] == 2
    run_jobs()
    assert client.get("/healthz").get_json()["queue_depth"] == 0


def test_healthz_reports_the_worker_heartbeat(app, client, run_jobs, fake_clock):
    assert client.get("/healthz").get_json()["worker"] == "never"
    jobs.beat(app.extensions["huey"])
    body = client.get("/healthz").get_json()
    assert body["worker"] == "ok"
    assert body["worker_last_heartbeat"] == fake_clock.now().isoformat()
    fake_clock.advance(timedelta(minutes=3))
    assert client.get("/healthz").get_json()["worker"] == "ok"
    fake_clock.advance(timedelta(seconds=1))
    assert client.get("/healthz").get_json()["worker"] == "stale"
    jobs.beat(app.extensions["huey"])
    assert client.get("/healthz").get_json()["worker"] == "ok"


def test_a_job_queued_by_a_name_nobody_declared_is_refused_before_anything_is_queued(app, app_ctx):
    with pytest.raises(LookupError, match=r"no job is called 'payments\.nothing'"):
        jobs.enqueue_after_commit(db.session, "payments.nothing", 1)
    db.session.commit()
    assert pending(app) == 0


def test_two_jobs_cannot_share_a_name():
    with pytest.raises(ValueError, match=r"two jobs are called tests\.remember"):
        jobs.task("tests.remember", jobs.RetryPolicy(retries=0, delay=0))(lambda: None)
