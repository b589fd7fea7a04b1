"""Column types and transaction helpers against the real test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import StatementError

from dashboard import db as db_module
from dashboard.db import UTCDateTime
from dashboard.db import WritersLock
from dashboard.db import database_file
from dashboard.db import inserted_together
from dashboard.db import write_transaction
from dashboard.errors import database_unavailable
from dashboard.extensions import db
from dashboard.users.models import User
from tests.conftest import skip_unless_postgresql

HKT = timezone(timedelta(hours=8))


def make_user(email: str = "row@staff.example", **fields) -> User:
    return User(email=email, name="Row", role=fields.pop("role", "viewer"), password_hash="x", **fields)


def test_utc_datetime_refuses_a_naive_datetime_on_write(app_ctx):
    db.session.add(make_user(created_at=datetime(2026, 1, 5, 10, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_utc_datetime_stores_an_aware_time_and_reads_back_aware_utc(app_ctx):
    moment = datetime(2026, 1, 5, 18, 30, tzinfo=HKT)
    user = make_user(created_at=moment)
    db.session.add(user)
    db.session.commit()
    user_id = user.id
    db.session.expunge_all()

    loaded = db.session.get(User, user_id)
    assert loaded.created_at == moment
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)


def test_utc_datetime_compares_correctly_in_queries(app_ctx):
    db.session.add(make_user(created_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC)))
    db.session.commit()
    later_in_hk = datetime(2026, 1, 5, 18, 1, tzinfo=HKT)  # 10:01 UTC
    earlier_in_hk = datetime(2026, 1, 5, 17, 59, tzinfo=HKT)  # 09:59 UTC
    assert db.session.scalar(select(func.count()).where(User.created_at < later_in_hk)) == 1
    assert db.session.scalar(select(func.count()).where(User.created_at < earlier_in_hk)) == 0


def test_utc_datetime_treats_a_naive_database_value_as_utc():
    column = UTCDateTime()
    assert column.process_result_value(datetime(2026, 1, 5, 10, 0), None) == datetime(
        2026, 1, 5, 10, 0, tzinfo=UTC
    )
    assert column.process_result_value(None, None) is None
    assert column.process_bind_param(None, None) is None
    assert column.process_bind_param(datetime(2026, 1, 5, 18, 0, tzinfo=HKT), None).tzinfo == UTC


def test_role_check_constraint_rejects_an_unknown_role(app_ctx):
    db.session.add(make_user(role="root"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_email_is_unique(app_ctx):
    db.session.add(make_user("same@staff.example"))
    db.session.commit()
    db.session.add(make_user("same@staff.example"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def _count_users_from_another_connection() -> int:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM users")).scalar_one()


#: Another process takes the writers' lock of the same database file and says when it got in.
_OTHER_WRITER = """
import sys, time
from dashboard.db import WritersLock
print("ready", flush=True)
with WritersLock(sys.argv[1]):
    print(time.time(), flush=True)
"""


def test_writers_lock_makes_another_process_wait_until_the_writer_before_it_is_done(tmp_path):
    lock = WritersLock(str(tmp_path / "shop.db"))
    command = [sys.executable, "-c", _OTHER_WRITER, str(tmp_path / "shop.db")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as other:
        with lock, lock:  # nested, as a write inside a write transaction of the same thread
            assert other.stdout.readline() == "ready\n"
            time.sleep(0.5)
            assert other.poll() is None
            # It says it waits, so this process's next writers let it in first.
            assert _held_by_another_process(tmp_path / "shop.db-writers-waiting")
            released_at = time.time()
        out, _ = other.communicate(timeout=30)
    assert other.returncode == 0
    assert float(out) >= released_at
    assert not _held_by_another_process(tmp_path / "shop.db-writers-waiting")


def test_a_process_that_gives_way_lets_a_writer_of_another_process_that_waits_in_first(tmp_path, monkeypatch):
    monkeypatch.setattr(db_module, "_gives_way", True)
    monkeypatch.setattr(db_module, "_GIVING_WAY_SECONDS", 5)  # however slowly the other one comes
    lock = WritersLock(str(tmp_path / "shop.db"))
    command = [sys.executable, "-c", _OTHER_WRITER, str(tmp_path / "shop.db")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as other:
        with lock:
            assert other.stdout.readline() == "ready\n"
            deadline = time.monotonic() + 10
            while not _held_by_another_process(tmp_path / "shop.db-writers-waiting"):
                assert time.monotonic() < deadline
                time.sleep(0.01)
        # Straight after its own writer, this process's next one lets the waiting one in first.
        with lock:
            again_at = time.time()
        out, _ = other.communicate(timeout=30)
    assert other.returncode == 0
    assert float(out) < again_at


def _held_by_another_process(path) -> bool:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def test_a_writer_that_waits_longer_than_the_busy_timeout_is_told_the_database_is_locked(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_SECONDS", 0.3)
    lock = WritersLock(str(tmp_path / "shop.db"))
    with lock:
        child = os.fork()
        if child == 0:  # a forked web worker: it must wait for its parent, not share its lock
            code = 3
            try:
                with lock:
                    code = 1
            except OperationalError as exc:
                code = 0 if database_unavailable(exc) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with WritersLock(str(tmp_path / "shop.db")):  # another writer goes in once the parent's is done
        pass


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shop?mode=memory&cache=shared&uri=true", None),
        ("sqlite:///file:shop.db?uri=true", "{cwd}/shop.db"),
        ("sqlite:///shop.db", "{cwd}/shop.db"),
        ("sqlite:////srv/data/shop.db", "/srv/data/shop.db"),
    ],
)
def test_the_database_file_is_named_by_its_absolute_path_and_none_in_memory(url, path):
    expected = path.format(cwd=os.getcwd()) if path else None
    assert database_file(make_url(url)) == expected


def test_writers_lock_of_a_database_in_memory_takes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with WritersLock(None):
        pass
    assert list(tmp_path.iterdir()) == []


def test_write_transaction_commits_its_block(app, live_db):
    with app.app_context():
        with write_transaction(db.session) as session:
            session.add(make_user("committed@staff.example"))
        assert _count_users_from_another_connection() == 1
        db.session.remove()


def test_write_transaction_rolls_back_on_error(app, live_db):
    with app.app_context():
        with pytest.raises(RuntimeError, match="boom"), write_transaction(db.session) as session:
            session.add(make_user("lost@staff.example"))
            session.flush()
            raise RuntimeError("boom")
        assert _count_users_from_another_connection() == 0
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()


def test_write_transaction_first_commits_work_already_pending(app, live_db):
    with app.app_context():
        db.session.add(make_user("earlier@staff.example"))
        with pytest.raises(RuntimeError), write_transaction(db.session) as session:
            session.add(make_user("inside@staff.example"))
            raise RuntimeError("boom")
        emails = set(db.session.scalars(select(User.email)))
        assert emails == {"earlier@staff.example"}
        db.session.remove()


def _insert_user(email: str):
    row = {"email": email, "name": "Row", "role": "viewer", "password_hash": "x"}
    return insert(User).returning(User.id), row


#: A table no database here has.
_NOT_MADE = Table("not_made", MetaData(), Column("id", Integer, primary_key=True), Column("email", String))


def _insert_not_made(email: str):
    return insert(_NOT_MADE).returning(_NOT_MADE.c.id), {"email": email}


def _skip_unless_sqlite(app) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("writes shared by threads are a SQLite matter: PostgreSQL commits side by side")


def _wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _giver(app, results: dict[str, object], insert_of=_insert_user):
    """Return a thread's work: give ``email``'s row, keep what came back (or what was raised)."""

    def give(email: str) -> None:
        with app.app_context():
            try:
                results[email] = inserted_together(db.engine, *insert_of(email))
            except Exception as exc:
                results[email] = exc

    return give


def _given_together(app, emails: list[str], insert_of=_insert_user) -> tuple[dict[str, object], int]:
    """Give one row per thread while the writers' lock is held, so they queue; return what each
    thread got back (or raised) and how many transactions committed."""
    commits = []
    results: dict[str, object] = {}

    def committed(connection) -> None:
        commits.append(connection)

    give = _giver(app, results, insert_of)
    with app.app_context():
        group = db_module._GROUP_COMMITS[db.engine]
        event.listen(db.engine, "commit", committed)
        try:
            threads = [threading.Thread(target=give, args=(email,), daemon=True) for email in emails]
            with db_module.writers_lock(db.engine):
                # The first thread waits for this lock, the others for the first.
                for thread in threads:
                    thread.start()
                _wait_until(lambda: len(group._given) == len(emails))
            for thread in threads:
                thread.join(timeout=30)
                assert not thread.is_alive()
        finally:
            event.remove(db.engine, "commit", committed)
    return results, len(commits)


def test_rows_given_while_another_thread_writes_are_committed_together(app, live_db):
    _skip_unless_sqlite(app)
    emails = [f"together{number}@staff.example" for number in range(6)]

    results, commits = _given_together(app, emails)

    # The thread that waited for the lock took every row given meanwhile once it had the lock.
    assert commits == 1
    with app.app_context():
        stored = dict(db.session.execute(select(User.email, User.id)).all())
        db.session.remove()
    assert stored == results


def test_a_batch_that_breaks_a_constraint_stores_none_of_its_rows_and_tells_each_thread(app, live_db):
    _skip_unless_sqlite(app)
    with app.app_context():
        with write_transaction(db.session) as session:
            session.add(make_user("taken@staff.example"))
        db.session.remove()
    emails = ["first@staff.example", "taken@staff.example", "second@staff.example", "third@staff.example"]

    results, _ = _given_together(app, emails)

    # The batch met the taken address and was undone whole; each of its threads is told its row is
    # not stored (it stores it alone).
    assert [results[email] for email in emails] == [None, None, None, None]
    with app.app_context():
        assert _count_users_from_another_connection() == 1


def test_any_other_error_of_a_batch_is_raised_in_each_of_its_threads(app, live_db):
    _skip_unless_sqlite(app)
    emails = [f"lost{number}@staff.example" for number in range(4)]

    results, commits = _given_together(app, emails, _insert_not_made)

    assert commits == 0
    assert all(isinstance(results[email], OperationalError) for email in emails)
    assert all("no such table" in str(results[email]) for email in emails)


def test_rows_given_while_a_batch_is_written_are_the_next_batch_written_by_one_of_their_threads(app, live_db):
    _skip_unless_sqlite(app)
    emails = [f"next{number}@staff.example" for number in range(5)]
    inserting, go_on = threading.Event(), threading.Event()
    commits, results = [], {}

    def committed(connection) -> None:
        commits.append(connection)

    def first_insert_waits(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT") and not inserting.is_set():
            inserting.set()
            go_on.wait(timeout=30)

    give = _giver(app, results)
    with app.app_context():
        group = db_module._GROUP_COMMITS[db.engine]
        event.listen(db.engine, "commit", committed)
        event.listen(db.engine, "before_cursor_execute", first_insert_waits)
        try:
            threads = [threading.Thread(target=give, args=(email,), daemon=True) for email in emails]
            threads[0].start()
            assert inserting.wait(timeout=10)  # the first batch, its one row, is being written
            for thread in threads[1:]:
                thread.start()
            _wait_until(lambda: len(group._given) == len(emails) - 1)
            go_on.set()
            for thread in threads:
                thread.join(timeout=30)
                assert not thread.is_alive()
        finally:
            event.remove(db.engine, "before_cursor_execute", first_insert_waits)
            event.remove(db.engine, "commit", committed)
        stored = dict(db.session.execute(select(User.email, User.id)).all())
        db.session.remove()

    assert len(commits) == 2
    assert stored == results


def test_when_the_writers_lock_never_comes_every_thread_waiting_is_told_and_the_next_goes_in(
    app, live_db, monkeypatch
):
    _skip_unless_sqlite(app)
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_SECONDS", 0.3)
    emails = [f"late{number}@staff.example" for number in range(4)]
    results = {}
    give = _giver(app, results)
    with app.app_context():
        threads = [threading.Thread(target=give, args=(email,), daemon=True) for email in emails]
        with db_module.writers_lock(db.engine):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
                assert not thread.is_alive()
        assert all(database_unavailable(results[email]) for email in emails)
        assert isinstance(inserted_together(db.engine, *_insert_user("after@staff.example")), int)
        assert _count_users_from_another_connection() == 1


def test_on_postgresql_each_row_is_left_to_its_own_transaction(app, live_db):
    skip_unless_postgresql(app, "side-by-side transactions")
    with app.app_context():
        assert inserted_together(db.engine, *_insert_user("alone@staff.example")) is None
        assert _count_users_from_another_connection() == 0


def test_free_text_columns_keep_at_most_their_length_and_store_empty_text_as_null(app_ctx):
    from dashboard.payments.models import Payment
    from dashboard.payments.models import Refund

    payment = Payment(
        provider="antom", request_id="PAY-CLIP", amount_minor=100, currency="HKD", result_message="x" * 300
    )
    payment.result_code = ""
    refund = Refund(
        request_id="RF-CLIP", amount_minor=1, currency="HKD", status="submitted", reason="r" * 999
    )

    assert (len(payment.result_message), payment.result_code, len(refund.reason)) == (256, None, 256)
    assert payment.currency == "HKD"  # identifiers and codes are not cut: they must fit or fail
