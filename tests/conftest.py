"""Fixtures: one app per session, a clean database per test (two tiers), live server, browser.

Tier 1 (``db_session``, used by ``client``): each test runs inside a connection-level
transaction that is rolled back; app code commits to a SAVEPOINT. Tier 2 (``live_db``):
app code really commits, for live-server, browser and concurrency tests; every table is
emptied afterwards.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import threading
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import text
from werkzeug.serving import make_server

from dashboard import clock
from dashboard import create_app
from dashboard import jobs
from dashboard.config import SETTINGS
from dashboard.extensions import db
from dashboard.users.models import User

#: Fixtures shared by several test folders, available to every test.
pytest_plugins = ["tests.fixtures.sandbox"]

#: Cheap argon2 parameters: the real ones cost ~50 ms per hash.
TEST_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
TEST_PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- network ---------------------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise RuntimeError(f"tests may not reach the network (tried {address!r})")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Refuse every socket connection that does not go to loopback."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


# --- app and databases -------------------------------------------------------------------------


def database_url(tmp_dir: Path, name: str = "test.db") -> str:
    """Return the test database: ``DATABASE_URL`` (PostgreSQL in CI) or a SQLite file."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / name}"


#: Every environment variable the app reads. Of these a test takes only ``DATABASE_URL`` and
#: ``REDIS_URL`` from the shell: the database and Redis to test on (README).
APP_VARIABLES = ("INSTANCE_PATH", *(setting.name for setting in SETTINGS))


def test_settings(tmp_dir: Path, **extra: object) -> dict:
    """Return the settings every test app uses.

    Each variable the app would read from the environment is given here (None means its default), so
    no setting the developer's shell exports reaches a test app, ``FLASK_DEBUG`` included. An app
    without the sandbox gets a Worldpay webhook secret, as a real install must have one.
    """
    return {
        **dict.fromkeys(APP_VARIABLES),
        "WORLDPAY_WEBHOOK_SECRETS": None if extra.get("SANDBOX") else "1:test-webhook-secret",
        "DEBUG": False,
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-of-the-minimum-length",
        "INSTANCE_PATH": str(tmp_dir / "instance"),
        "DATABASE_URL": database_url(tmp_dir),
        "DATA_ENCRYPTION_KEYS": "hTJ2pWmZEu0pO8YzGTnAWTDc8m3Hc4Ih3sHkkL5ZqWc=",
        "API_KEY_SECRET": "test-api-key-secret-of-the-minimum-length",
        "JOBS_BACKEND": "memory",
        "RATELIMIT_ENABLED": False,
        "ARGON2_PARAMETERS": TEST_ARGON2,
        # Nobody must enrol a second factor, so ``login_as`` sessions act at once; the two-factor
        # tests turn the requirement on and sign in with real codes (tests/web/test_two_factor.py).
        "TWO_FACTOR_REQUIRED_ROLES": "none",
        "REDIS_URL": os.environ.get("REDIS_URL"),
        **extra,
    }


test_settings.__test__ = False  # a helper, not a test, when other modules import it


def environ_without_app_settings(**settings: str) -> dict[str, str]:
    """Return a subprocess environment: the shell's minus app and Flask variables, plus ``settings``."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in APP_VARIABLES and not name.startswith("FLASK_")
    }
    # Nor a .env or .flaskenv file found above the command's folder.
    return {**environ, "FLASK_SKIP_DOTENV": "1", **settings}


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Build the app once; create the schema from the models (migrations are tested apart)."""
    tmp_dir = tmp_path_factory.mktemp("app")
    application = create_app(test_settings(tmp_dir))
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.engine.dispose()


class ConnectionBoundSession(FlaskSession):
    """A Flask-SQLAlchemy session that uses the test's connection for every table.

    Flask-SQLAlchemy's own ``get_bind`` picks the engine by bind key and ignores a
    session-level ``bind``, which would let ORM writes escape the rolled-back transaction.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@pytest.fixture
def db_session(app: Flask) -> Iterator[None]:
    """Run the test in a transaction that is rolled back; commits become savepoints.

    No app context stays pushed during the test: requests must get their own (and so
    their own ``g``), as they do in production.
    """
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionBoundSession}
    )
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


def empty_all_tables() -> None:
    """Delete every row (PostgreSQL: TRUNCATE … RESTART IDENTITY)."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                # SQLite checks ON DELETE RESTRICT row by row, so rows pointing at a row of their
                # own table (duplicate notifications at their original) go first.
                for key in table.foreign_keys:
                    if key.column.table is table:
                        connection.execute(table.delete().where(key.parent.is_not(None)))
                connection.execute(table.delete())


@pytest.fixture
def live_db(app: Flask) -> Iterator[None]:
    """Let app code commit for real; empty every table before and after."""
    with app.app_context():
        db.session.remove()
        empty_all_tables()
    yield
    with app.app_context():
        db.session.remove()
        empty_all_tables()


@pytest.fixture
def make_app(tmp_path: Path, live_db: None) -> Iterator[Callable[..., Flask]]:
    """Return a factory for extra apps (own settings, e.g. ``SANDBOX=True``) on committing databases."""
    built: list[Flask] = []

    def build(**extra: object) -> Flask:
        folder = tmp_path / f"app{len(built)}"
        folder.mkdir()
        application = create_app(test_settings(folder, **extra))
        with application.app_context():
            db.create_all()
        built.append(application)
        return application

    yield build
    for application in built:
        if "sandbox" in application.extensions:
            application.extensions["sandbox"].engine.dispose()
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app: Flask, db_session: None) -> FlaskClient:
    """A test client on the rolled-back tier."""
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask, db_session: None) -> Iterator[Flask]:
    """An app context on the rolled-back tier, for service tests."""
    with app.test_request_context():
        yield app


# --- time, jobs --------------------------------------------------------------------------------


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    """Install a clock that only moves when the test advances it."""
    fake = clock.FakeClock()
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


@pytest.fixture
def run_jobs(app: Flask) -> Callable[[], int]:
    """Return a function that drains the job queue in this thread and says how many ran."""
    huey = app.extensions["huey"]
    huey.flush()

    def drain() -> int:
        return jobs.run_pending(huey)

    return drain


# --- users -------------------------------------------------------------------------------------


@pytest.fixture
def create_user(app: Flask) -> Callable[..., User]:
    """Return a factory that creates a user through the service (audited like any other)."""
    from dashboard.users import service

    counter = iter(range(1, 10_000))

    def make(
        role: str = "viewer", email: str | None = None, password: str = TEST_PASSWORD, **changes
    ) -> User:
        address = email or f"{role}{next(counter)}@staff.example"
        with app.test_request_context():
            user = service.create_user(
                address, f"{role.capitalize()} Tester", role, password, must_change_password=False
            )
            for name, value in changes.items():
                setattr(user, name, value)
            db.session.commit()
            user_id = user.id
        with app.app_context():
            return db.session.get(User, user_id)

    return make


@pytest.fixture
def login_as(client: FlaskClient, create_user: Callable[..., User]) -> Callable[..., User]:
    """Return a function that creates a user of a role and puts its session in ``client``."""

    def login(role: str = "viewer", **changes) -> User:
        user = create_user(role, **changes)
        with client.session_transaction() as session:
            session["_user_id"] = user.session_token
            session["_fresh"] = True
            session["seen"] = clock.now().timestamp()
        return user

    return login


# --- live server and browser -------------------------------------------------------------------


@pytest.fixture
def live_server(app: Flask, live_db: None) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Launch Debian's chromium through Playwright; fail (never skip) when it is missing."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context and page per test."""
    context = browser.new_context(locale="en-HK", timezone_id="Asia/Hong_Kong")
    yield context.new_page()
    context.close()


def skip_unless_postgresql(app: Flask, matter: str) -> None:
    """Skip a concurrency test on SQLite, which serialises writers: ``matter`` says what PostgreSQL shows."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip(f"{matter} are a PostgreSQL matter; SQLite serialises writers")


# --- the app with its sandbox providers, served for real ---------------------------------------


class SandboxedApp:
    """A SANDBOX=1 app on a loopback port: its services call the simulators over HTTP, and the
    simulators' notifications come back to its real webhooks."""

    def __init__(self, app: Flask, url: str):
        self.app = app
        self.url = url

    @property
    def sandbox(self):
        return self.app.extensions["sandbox"]

    def run_jobs(self, scheduled: bool = False) -> int:
        """Run queued jobs here; with ``scheduled``, delayed ones too (no waiting for real time)."""
        until = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1) if scheduled else None
        ran = jobs.run_pending(self.app.extensions["huey"], scheduled_until=until)
        db.session.rollback()  # the test's own reads start afresh and see what the jobs did
        return ran

    def deliver(self) -> int:
        """Let the simulators resolve due work and POST due notifications to the webhooks."""
        from dashboard.sandbox.sender import run_due

        return run_due(self.sandbox)

    def settle(self, scheduled: bool = False, rounds: int = 10) -> None:
        """Deliver notifications and run the jobs they cause until nothing is left."""
        for _ in range(rounds):
            if not self.deliver() + self.run_jobs(scheduled):
                return
        raise AssertionError(f"still busy after {rounds} rounds")


@pytest.fixture(scope="session")
def sandboxed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxedApp]:
    """Serve one SANDBOX=1 app for the session (its own SQLite file; the same PostgreSQL database)."""
    tmp_dir = tmp_path_factory.mktemp("sandboxed")
    holder: dict[str, Flask] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = test_settings(
        tmp_dir, SANDBOX=True, PUBLIC_BASE_URL=url, SANDBOX_TIME_SCALE=0.0, SANDBOX_SEED="core-tests"
    )
    settings["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / 'sandboxed.db'}"
    application = create_app(settings)
    with application.app_context():
        db.drop_all()
        db.create_all()
    holder["app"] = application
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SandboxedApp(application, url)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        application.extensions["sandbox"].engine.dispose()
        with application.app_context():
            db.engine.dispose()


@pytest.fixture
def sandboxed(sandboxed_server: SandboxedApp, fake_clock: clock.FakeClock) -> Iterator[SandboxedApp]:
    """The sandboxed app with empty tables (its own and the simulators'), an empty queue and a fake
    clock, inside an app context."""
    from dashboard.sandbox.store import SandboxBase

    app = sandboxed_server.app
    with sandboxed_server.sandbox.engine.begin() as connection:
        for table in reversed(SandboxBase.metadata.sorted_tables):
            connection.execute(table.delete())
    # The simulators' rate windows live in memory and count by the clock, which tests hold still.
    sandboxed_server.sandbox.rate_windows.clear()
    app.extensions["huey"].flush()
    with app.app_context():
        db.session.remove()
        empty_all_tables()
    with app.test_request_context():
        yield sandboxed_server
        db.session.remove()
    with app.app_context():
        empty_all_tables()
