"""A database that accepts connections and never answers: /healthz says so within seconds, and a
page fails with the error page instead of hanging its thread."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard import create_app
from dashboard.db import lift_statement_timeout
from dashboard.errors import database_unavailable
from dashboard.extensions import db
from tests.conftest import test_settings


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Listen on a free port, accept every connection, and never send a byte; return the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_healthz_and_pages_answer_within_seconds_when_the_database_never_answers(tmp_path, silent_server):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/silent"
    app = create_app(test_settings(tmp_path, DATABASE_URL=url, DATABASE_CONNECT_TIMEOUT=2))
    client = app.test_client()

    started = time.monotonic()
    health = client.get("/healthz")
    took = time.monotonic() - started

    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable"
    assert took < 5
    with client.session_transaction() as session:
        session["_user_id"] = "a-session-token"  # a signed-in browser: its user is read first
        session["_fresh"] = True
    started = time.monotonic()
    page = client.get("/payments/")
    assert page.status_code == 503
    assert "The database is not answering" in page.get_data(as_text=True)
    assert time.monotonic() - started < 10


@pytest.mark.postgres
def test_a_statement_runs_at_most_the_statement_timeout_unless_a_command_lifts_it(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT=1)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a statement timeout is a PostgreSQL matter; SQLite waits at most its busy timeout")
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(1.5)"))
        db.session.rollback()
        lift_statement_timeout(db.session)
        db.session.execute(text("SELECT pg_sleep(1.5)"))
        db.session.rollback()
        # Lifted for that transaction only: the pooled connection keeps its bound.
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(1.5)"))
        db.session.rollback()


@pytest.mark.postgres
@pytest.mark.parametrize("setting", [1.1, 0])
def test_the_planner_prices_a_random_read_as_set_or_as_the_server_does(make_app, setting):
    # At the server's default (4), a million notifications filtered by a common kind were read along
    # the time index, thousands of other kinds skipped to fill a page (tests/benchmarks/README.md).
    app = make_app(DATABASE_RANDOM_PAGE_COST=setting)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the planner's costs are a PostgreSQL matter")
        plain = create_engine(db.engine.url)
        try:
            with plain.connect() as connection:
                servers = connection.scalar(text("SHOW random_page_cost"))
        finally:
            plain.dispose()
        assert db.session.scalar(text("SHOW random_page_cost")) == (str(setting) if setting else servers)


def test_only_a_database_that_cannot_answer_is_a_503():
    def operational(orig: Exception) -> OperationalError:
        return OperationalError("SELECT 1", {}, orig)

    assert database_unavailable(PoolTimeout("every pooled connection stayed busy"))
    assert database_unavailable(operational(sqlite3.OperationalError("database is locked")))
    assert not database_unavailable(operational(sqlite3.OperationalError("no such table: payments")))
    assert not database_unavailable(ValueError("not a database error"))
