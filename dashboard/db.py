"""Shared column types, the declarative base and SQLite connection rules (DESIGN §8)."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import nullcontext
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from flask import Flask
from flask import request
from flask import session as flask_session
from sqlalchemy import BigInteger
from sqlalchemy import CheckConstraint
from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.engine import URL
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import scoped_session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map

from dashboard import clock

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Primary keys: 64-bit on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY is the rowid alias).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
#: The largest id either database stores (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1


def is_row_id(text: str) -> bool:
    """Return True when ``text`` is a row id as a URL writes it: ASCII digits, at most :data:`MAX_ROW_ID`."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in a route: a row id, from 0 to :data:`MAX_ROW_ID` (anything larger matches nothing)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 0, max: int | None = MAX_ROW_ID):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: ``info`` of a text column whose longer values are cut to the column's length when assigned
#: (free text from providers and staff: result codes and messages, reasons, references); an
#: empty value is stored as NULL.
CLIPPED = {"clip": True}


def clipped(value: Any, length: int) -> Any:
    """Return ``value`` as a :data:`CLIPPED` column of ``length`` stores it (for Core inserts).

    NUL characters are dropped: PostgreSQL's text refuses them, and no reader needs them.
    """
    return value.replace("\x00", "")[:length] or None if isinstance(value, str) else value


def _clipper(length: int):
    def clip(target: Any, value: Any, old: Any, initiator: Any) -> Any:
        return clipped(value, length)

    return clip


@event.listens_for(Base, "mapper_configured", propagate=True)
def _clip_marked_columns(mapper, cls) -> None:
    for attribute in mapper.column_attrs:
        column = attribute.columns[0]
        if column.info.get("clip"):
            event.listen(getattr(cls, attribute.key), "set", _clipper(column.type.length), retval=True)


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as UTC; always return aware UTC values (SQLite returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use dashboard.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(
    column: str, values: Iterable[str], name: str | None = None, *, bulk: bool = False
) -> CheckConstraint:
    """Return a CHECK constraint limiting ``column`` to ``values`` (statuses are strings, not enums).

    ``bulk`` writes it as one comparison per value joined by OR, for a table written thousands of
    rows at a time: SQLite builds a lookup table for an IN list of more than two values each time
    a statement runs, which for ``executemany`` is every row (2 µs a row, a tenth of a payroll's
    insert).
    """
    if bulk:
        return CheckConstraint(
            " OR ".join(f"{column} = '{value}'" for value in values), name=name or f"{column}_valid"
        )
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
IMMEDIATE = "sqlite_begin_immediate"


#: How long a writer waits for the writers before it, in our lock and in SQLite's busy handler.
BUSY_TIMEOUT_SECONDS = 10
#: The longest pause between two tries of the lock file: a writer comes in at most this late.
_LONGEST_PAUSE_SECONDS = 0.001
#: How many writers of one process may go in straight after one another while another waits.
_STREAK = 4
#: How long a process that gives way (:func:`give_way_to_other_writers`) waits for a waiting one.
_GIVING_WAY_SECONDS = 0.01
#: Whether this process's writers let any waiting writer of another process in first.
_gives_way = False

_log = logging.getLogger(__name__)


class WritersLock:
    """One write transaction at a time on a SQLite database: among this process's threads, and
    among the processes that share the file (web workers, job workers, commands).

    Threads queue on a lock, and processes on an ``flock`` of ``<database>-writers`` tried again
    at most a millisecond apart, so each writer goes in almost as soon as the one before it
    commits. Waiting in SQLite's busy handler instead means sleeping in growing steps (1, 2, 5,
    10 … 100 ms) while the lock is often free again within a millisecond; with two web workers
    taking notifications that sleep was most of intake's p95. Like SQLite's, the wait ends after
    :data:`BUSY_TIMEOUT_SECONDS` with "database is locked" (a 503). Writers that do not take this
    lock (a plain ORM commit, a migration) still meet SQLite's busy timeout.

    A process whose threads take the lock one straight after another would keep it from a
    process that tries only every millisecond; so a waiting process holds ``<database>-writers-
    waiting`` shared, and after :data:`_STREAK` writers in a row a process that sees it steps
    aside until the waiting one is in (at most two milliseconds). A process that gives way (a job
    worker: :func:`give_way_to_other_writers`) steps aside before each of its writers while any
    other process is marked waiting, for up to :data:`_GIVING_WAY_SECONDS`.
    """

    def __init__(self, database: str | None):
        self._paths = (f"{database}-writers", f"{database}-writers-waiting") if database else None
        self._database = database
        self._after_fork()
        _RESET_AFTER_FORK.add(self)

    def _after_fork(self) -> None:
        # Also run in a forked child: it starts with no writer in, and opens the files again, since
        # a descriptor inherited across fork shares its lock with the parent's.
        self._threads = threading.RLock()
        self._depth = 0
        self._released_at = 0.0
        self._streak = 0
        self._holds_file = False
        descriptors, self._descriptors = getattr(self, "_descriptors", None), None
        self._opened = False
        for descriptor in descriptors or ():
            os.close(descriptor)

    def __del__(self) -> None:
        for descriptor in self._descriptors or ():
            os.close(descriptor)

    def __enter__(self) -> None:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        if not self._threads.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise _locked()
        try:
            if self._depth == 0:
                self._lock_file(deadline)
            self._depth += 1
        except BaseException:
            if self._depth == 0:
                self._unlock_file()
            self._threads.release()
            raise

    def __exit__(self, *exc_info) -> None:
        self._depth -= 1
        try:
            if self._depth == 0:
                self._unlock_file()
        finally:
            self._threads.release()

    def _lock_file(self, deadline: float) -> None:
        descriptors = self._files()
        if descriptors is None:
            return
        lock, waiting = descriptors
        if (_gives_way or self._streak >= _STREAK) and _held_by_others(waiting):
            self._streak = 0
            aside = _GIVING_WAY_SECONDS if _gives_way else 2 * _LONGEST_PAUSE_SECONDS
            step_aside_until = time.monotonic() + aside
            while time.monotonic() < step_aside_until and _held_by_others(waiting):
                time.sleep(_LONGEST_PAUSE_SECONDS / 8)
        if _flocked(lock):
            straight_after = time.monotonic() - self._released_at < _LONGEST_PAUSE_SECONDS
            self._streak = self._streak + 1 if straight_after else 0
            self._holds_file = True
            return
        self._streak = 0
        # Never blocks: a process looking whether anyone waits holds the file only for a moment,
        # and until this process has marked itself it still tries the lock like any other.
        marked = False
        try:
            pause = _LONGEST_PAUSE_SECONDS / 8
            while True:
                marked = marked or _flocked(waiting, fcntl.LOCK_SH)
                if _flocked(lock):
                    self._holds_file = True
                    return
                if time.monotonic() > deadline:
                    raise _locked()
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)
        finally:
            if marked:
                fcntl.flock(waiting, fcntl.LOCK_UN)

    def _unlock_file(self) -> None:
        if self._holds_file:
            self._holds_file = False
            fcntl.flock(self._descriptors[0], fcntl.LOCK_UN)
            self._released_at = time.monotonic()

    def _files(self) -> tuple[int, int] | None:
        """Return this process's descriptors of the two files (None: threads only, SQLite's busy
        handler between processes)."""
        if not self._opened and self._paths is not None:
            self._opened = True
            opened: list[int] = []
            try:
                # Readable and writable by whoever may write the database (a job worker may run as
                # another user of its group); flock needs only a descriptor, not write access.
                try:
                    mode = os.stat(self._database).st_mode & 0o666
                except FileNotFoundError:
                    mode = 0o644
                for path in self._paths:
                    try:
                        opened.append(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode))
                    except PermissionError:
                        opened.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            except OSError as exc:
                for descriptor in opened:
                    os.close(descriptor)
                _log.warning("no writers' lock file (%s): processes wait in SQLite's busy handler", exc)
            else:
                self._descriptors = (opened[0], opened[1])
        return self._descriptors


def give_way_to_other_writers() -> None:
    """Let any other process's waiting SQLite writer in before each of this process's writers.

    For the job workers: an applier goes again as soon as its batch is done, and a web worker
    waiting to store a notification, trying the lock file at most a millisecond apart, otherwise
    waited through several batches in a row (up to 180 ms at 300 notifications a second). Two job
    workers then take turns too, each letting the other in.
    """
    global _gives_way
    _gives_way = True


def one_writer_at_a_time(engine: Engine) -> bool:
    """Return True when a write transaction on ``engine`` holds the whole database (SQLite)."""
    return engine in _SQLITE_WRITERS


def _flocked(descriptor: int, how: int = fcntl.LOCK_EX) -> bool:
    """Take ``descriptor``'s file lock (``how``: exclusive or shared) if it is free now; never wait."""
    try:
        fcntl.flock(descriptor, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _held_by_others(descriptor: int) -> bool:
    taken = False
    try:
        taken = _flocked(descriptor)
        return not taken
    finally:
        if taken:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


#: The writers' locks and group commits of this process: a forked child starts each afresh.
_RESET_AFTER_FORK: weakref.WeakSet[WritersLock | GroupCommit] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for held in list(_RESET_AFTER_FORK):
        held._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


def database_file(url: URL) -> str | None:
    """Return the absolute path of the file a SQLite ``url`` names (None: a database in memory)."""
    database, query = url.database, url.query
    if database in (None, "", ":memory:") or query.get("mode") == "memory":
        return None
    if query.get("uri") == "true":
        database = database.removeprefix("file:")
    return os.path.abspath(database)


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, WritersLock] = weakref.WeakKeyDictionary()


def checked_on_rows(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Return ``condition`` as a term no index answers: it is checked on the rows found otherwise.

    For a condition far broader than another of the same query (a provider beside a provider's id):
    SQLite plans without statistics, and may otherwise walk the broad condition's index, every
    payment of a provider, instead of the narrow one's.
    """
    return condition.is_(true())


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """Return an index of only the rows matching ``where`` (SQL both databases read alike).

    A read uses it only when its own conditions imply ``where``: a range on a column implies that
    column ``IS NOT NULL``; any other condition is best repeated as the same text.
    """
    return Index(name, *columns, unique=unique, sqlite_where=text(where), postgresql_where=text(where))


def configure_sqlite(engine: Engine) -> None:
    """Apply WAL, foreign keys, a busy timeout, explicit BEGIN and the writers' lock to a SQLite engine.

    pysqlite's own transaction handling emits BEGIN lazily and breaks SAVEPOINT; the
    documented recipe turns it off and emits BEGIN ourselves, which also lets write
    transactions use BEGIN IMMEDIATE so read-check-write is atomic.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        if database_file(engine.url) is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    _SQLITE_WRITERS[engine] = WritersLock(database_file(engine.url))
    _GROUP_COMMITS[engine] = GroupCommit()


def lift_statement_timeout(session: Session | Connection) -> None:
    """Let the statements of the transaction begun in ``session`` run as long as they need.

    For the commands that read or rewrite whole tables (migrations, rollup rebuilds, the audit
    chain's check), never for a request: ``DATABASE_STATEMENT_TIMEOUT`` bounds those. PostgreSQL
    only (``SET LOCAL`` ends with the transaction, so the pooled connection keeps its bound);
    SQLite has no statement timeout.
    """
    connection = session if isinstance(session, Connection) else session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


_View = TypeVar("_View", bound=Callable[..., Any])
_READS_ONLY_ATTR = "reads_only"
#: Where Flask-Login keeps who is signed in: a request without it never reaches the database.
_SIGNED_IN_KEY = "_user_id"


def reads_only(view: _View) -> _View:
    """Mark ``view`` as only reading: on PostgreSQL its statements run each on its own, with no
    transaction block around them (:func:`init_autocommit_reads`).

    For what staff and their open pages ask most: a list, its rows and its "new" bar, and the live
    poll. Outside a block nothing lasts beyond its statement: such a view takes no row or advisory
    lock, sets nothing with ``SET LOCAL``, streams no rows through a server-side cursor, and
    writes only through :func:`write_transaction`, which commits what the request began and opens
    a transaction of its own.
    """
    setattr(view, _READS_ONLY_ATTR, True)
    return view


def init_autocommit_reads(app: Flask, database: SQLAlchemy) -> None:
    """Install a hook that, before a signed-in GET of a :func:`reads_only` view, takes the request's
    connection in autocommit.

    For PostgreSQL at its default READ COMMITTED, where every statement sees what was committed when
    it began, in a transaction block or not: the block adds only its BEGIN and ROLLBACK, two of a
    list page's five round trips. SQLAlchemy gives the connection back to the pool in the engine's
    own mode. Not for SQLite, where BEGIN costs no round trip and a transaction is one snapshot.
    """

    def take_autocommit_connection() -> None:
        view = app.view_functions.get(request.endpoint)
        if request.method not in ("GET", "HEAD") or not getattr(view, _READS_ONLY_ATTR, False):
            return
        if _SIGNED_IN_KEY not in flask_session:
            return  # the guard sends it to sign in without a read
        session = database.session()  # the one this request's teardown removes
        # Only a connection the request takes from the pool: a session given a connection of its
        # own (the tests' rolled-back tier) stays in that connection's transaction.
        if isinstance(session.get_bind(), Engine) and not session.in_transaction():
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    app.before_request(take_autocommit_connection)


def writers_lock(engine: Engine) -> WritersLock | nullcontext:
    """Return the lock a write transaction on ``engine`` holds (none on PostgreSQL: row locks)."""
    return _SQLITE_WRITERS.get(engine) or nullcontext()


@contextmanager
def write_transaction(session: Session | scoped_session) -> Iterator[Session]:
    """Run a read-check-write block in its own transaction and commit it.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the write lock is taken
    before the first read), one writer at a time (:class:`WritersLock`); on PostgreSQL callers
    add ``with_for_update()`` to the rows they check. A transaction already open on the
    session is committed first, so the caller must not hold uncommitted changes it wants
    to keep separate.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.in_transaction():
        session.commit()
    with writers_lock(session.get_bind()):
        session.connection(execution_options={IMMEDIATE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """Run Core statements in a write transaction of their own and commit it (no ORM session).

    The same rules as :func:`write_transaction`: BEGIN IMMEDIATE and one writer at a time on SQLite.
    """
    with (
        writers_lock(engine),
        engine.connect().execution_options(**{IMMEDIATE: True}) as connection,
        connection.begin(),
    ):
        yield connection


class GroupCommit:
    """Insert the rows this process's threads give at the same time in one write transaction (SQLite).

    SQLite lets one writer in at a time, and every transaction pays for BEGIN IMMEDIATE, the
    writers' lock and a commit that copies each page it touched to the WAL: about 110 µs, where a
    notification's insert costs 30-80 µs (its row and eight indexes). So the thread that finds
    nobody writing takes the writers' lock, then writes its own row and every row given until then,
    in one transaction; their threads wait for that commit, so a row is stored before its thread
    goes on. The first thread that gave a row meanwhile then writes the next batch.

    A batch that breaks a constraint is undone whole, and each of its threads is told to store its
    row alone; any other error of the batch is raised in each of its threads.
    """

    def __init__(self) -> None:
        self._after_fork()
        _RESET_AFTER_FORK.add(self)

    def _after_fork(self) -> None:
        # Also run in a forked child: it starts with nobody writing and nothing given.
        self._mutex = threading.Lock()
        self._given: list[_Given] = []
        self._writing = False

    def insert(self, engine: Engine, statement: Executable, row: dict[str, Any]) -> int | None:
        """Insert ``row`` with ``statement`` (``INSERT … RETURNING`` one value) and commit; return
        the value, or None when the row is not stored: ``statement`` returned nothing, or the
        batch broke a constraint (store it alone)."""
        given = _Given(statement, row)
        with self._mutex:
            self._given.append(given)
            leads, self._writing = not self._writing, True
        if not leads:
            given.done.wait()
            leads = given.leads
        if leads:
            self._write(engine)
        if given.error is not None:
            raise given.error
        return given.value

    def _write(self, engine: Engine) -> None:
        batch: list[_Given] | None = None
        written = False
        error: Exception | None = None
        try:
            with write_connection(engine) as connection:
                # Taken once the writers' lock is this thread's: rows given while it waited for the
                # lock go in too, rather than wait for this batch and then for the lock again.
                batch = self._take()
                for given in batch:
                    given.value = connection.execute(given.statement, given.row).scalar()
            written = True
        except IntegrityError:
            _log.debug("a batch of %d inserts broke a constraint: each is stored alone", len(batch or ()))
        except Exception as exc:
            error = exc
        finally:
            if batch is None:  # no transaction began (the lock, the connection): those waiting hear why
                batch = self._take()
            # Whatever ended the write, every thread of the batch goes on, and the next waits no more.
            for given in batch:
                if not written:
                    given.value, given.error = None, error
                given.done.set()
            with self._mutex:
                following = self._given[0] if self._given else None
                self._writing = following is not None
            if following is not None:
                following.leads = True
                following.done.set()

    def _take(self) -> list[_Given]:
        with self._mutex:
            batch, self._given = self._given, []
        return batch


class _Given:
    """A row given to a :class:`GroupCommit`, until its batch is written."""

    __slots__ = ("done", "error", "leads", "row", "statement", "value")

    def __init__(self, statement: Executable, row: dict[str, Any]):
        self.statement, self.row = statement, row
        self.value: int | None = None
        self.error: Exception | None = None
        self.leads = False
        self.done = threading.Event()


#: Each SQLite engine's group commit (the engine is the weak key: a group holds no engine).
_GROUP_COMMITS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()


def inserted_together(engine: Engine, statement: Executable, row: dict[str, Any]) -> int | None:
    """Insert ``row`` in a transaction shared with this process's other threads' rows (SQLite: see
    :class:`GroupCommit`) and return what ``statement`` returns; None when it is not stored, on
    PostgreSQL always (concurrent transactions commit side by side there): store it alone then.

    Never call it inside a transaction or while holding :func:`writers_lock`: the row is committed
    before it returns, by whichever thread writes its batch.
    """
    group = _GROUP_COMMITS.get(engine)
    return None if group is None else group.insert(engine, statement, row)


@contextmanager
def written_at_end(session: Session, key: str, write: Callable[[Session, list], None]) -> Iterator[None]:
    """Gather what the block puts in :func:`deferred` ``(session, key)``; ``write`` it all once at the end.

    A block that raises drops what it gathered; one nested in another hands it to the outer
    block. A batch whose items each run in a savepoint of their own thus writes once, at its
    end, only what the items that did not fail gathered.
    """
    outer = session.info.get(key)
    gathered: list = []
    session.info[key] = gathered
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(key, None)
        else:
            session.info[key] = outer
    if outer is not None:
        outer.extend(gathered)
    elif gathered:
        write(session, gathered)


def deferred(session: Session, key: str) -> list | None:
    """Return the list a :func:`written_at_end` block around us gathers ``key`` into (None: write now)."""
    return session.info.get(key)


def locked(session: Session, model: type, object_id: int):
    """Return row ``object_id`` of ``model``, re-read and locked (FOR UPDATE on PostgreSQL)."""
    statement = (
        select(model).where(model.id == object_id).with_for_update().execution_options(populate_existing=True)
    )
    return session.scalars(statement).one_or_none()


class ProviderTracked:
    """Columns of every row a provider answers about: its last result, its times, an optimistic lock."""

    #: The provider's latest result code and message (why it failed, why it is still unknown).
    result_code: Mapped[str | None] = mapped_column(String(64), info=CLIPPED)
    result_message: Mapped[str | None] = mapped_column(String(256), info=CLIPPED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    #: Optimistic lock: a concurrent update of the same row raises StaleDataError.
    version: Mapped[int] = mapped_column(Integer)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}
