"""Merchant back office: a Flask + htmx app for Hong Kong merchants' staff."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.config import is_local_run
from dashboard.config import load_settings

PACKAGE_DIR = Path(__file__).resolve().parent
#: Database connections older than this are replaced when next taken from the pool.
POOL_RECYCLE_SECONDS = 1800
#: Objects made and not yet freed that start a collection of the youngest generation (Python 3.11
#: and 3.12 say 700; 3.13 already says 2,000). A list page has 1,000-2,000 alive at its peak, so at
#: 700 nearly every page started one, which moved that page's objects on to the older generations:
#: a full collection (5-6 ms) came every 150-270 pages. At 2,000, one page in about sixteen starts
#: one (at most 0.7 ms), and a full collection comes every 3,000 pages or so
#: (tests/benchmarks/README.md, "Collections").
YOUNG_OBJECTS_BEFORE_COLLECTING = 2000
#: Seconds a request waits for a pooled connection when every one is in use (busy, not broken:
#: a broken one fails within the connect timeout and goes back to the pool).
POOL_WAIT_SECONDS = 10


def engine_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the database engine's options: no ping per checkout, and on PostgreSQL bounded waits.

    No ping per checkout (a round trip on every request): connections are renewed after half an
    hour, and one found dead is dropped with the whole pool on its first error. A database that
    accepts connections and never answers costs a request at most the connect timeout (libpq's
    ``connect_timeout`` covers the whole start-up), a query at most the statement timeout, and a
    thread waiting for a pooled connection :data:`POOL_WAIT_SECONDS`.
    """
    options: dict[str, Any] = {"pool_recycle": POOL_RECYCLE_SECONDS}
    if settings["DATABASE_URL"].startswith("postgresql"):
        timeout = settings["DATABASE_CONNECT_TIMEOUT"]
        server_settings = [f"statement_timeout={settings['DATABASE_STATEMENT_TIMEOUT'] * 1000}"]
        if settings["DATABASE_RANDOM_PAGE_COST"]:
            # PostgreSQL's default (4) prices a random read at four sequential ones, as on spinning
            # disks; its manual ("Planner Cost Constants") suggests 1.1 for solid-state storage. At
            # 4, a list filtered by a common value (a kind, a provider) walked the time index and
            # skipped thousands of rows of other values to fill a page, instead of reading the
            # filter's own index.
            server_settings.append(f"random_page_cost={settings['DATABASE_RANDOM_PAGE_COST']}")
        options["pool_timeout"] = POOL_WAIT_SECONDS
        options["connect_args"] = {
            "connect_timeout": timeout,
            "options": " ".join(f"-c {setting}" for setting in server_settings),
            # An open connection whose server stops acknowledging what is sent is dropped within
            # seconds (TCP keepalives; TCP_USER_TIMEOUT in ms), instead of hanging its thread.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 10_000,
        }
    return options


def _resource_dir(name: str) -> Path:
    """Return top-level ``templates``/``static``/``migrations``, or the copy bundled in a wheel."""
    source_tree = PACKAGE_DIR.parent / name
    return source_tree if source_tree.is_dir() else PACKAGE_DIR / "_bundled" / name


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector until the block ends (then leave it as it was).

    Building the app imports and maps every module: hundreds of thousands of objects, nearly all
    kept for the life of the process, which every full collection in the meantime walks again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, access rules, CLI, error pages.

    :param config: settings that win over the environment (tests, the demo command)
    """
    with _collector_paused():
        app = _build_app(config)
        if not gc.get_freeze_count():
            # What importing made and the first app a process builds (a web or job worker builds
            # one) stay for its life: frozen, full collections leave them out instead of walking
            # about 180,000 objects again, 150-165 ms that made one page in about a thousand wait as
            # long. The hundred or so unreachable objects a build leaves are frozen with them.
            # Later apps (tests build many; the demo serves a second, most of whose modules the first
            # imported) are left to the collector.
            gc.freeze()
            gc.set_threshold(YOUNG_OBJECTS_BEFORE_COLLECTING, *gc.get_threshold()[1:])
    return app


def _build_app(config: Mapping[str, Any] | None) -> Flask:
    if not (config or {}).get("TESTING"):
        load_dotenv(Path.cwd() / ".env", override=False)
    settings = load_settings(config)
    if not is_local_run(settings):
        # A deployment: what real providers need to reach us must be set (serve checks it too).
        from dashboard.providers.registry import check_settings

        check_settings(settings)

    from dashboard.templating import PageEnvironment

    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(_resource_dir("templates")),
        static_folder=str(_resource_dir("static")),
    )
    app.jinja_environment = PageEnvironment  # before anything makes app.jinja_env
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="back_office_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session (DESIGN §8)
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        RATELIMIT_STORAGE_URI=settings.get("REDIS_URL") or "memory://",
        REMEMBER_COOKIE_DURATION=0,
    )
    app.config.update(settings)
    app.config["SESSION_COOKIE_SECURE"] = settings["SESSION_COOKIE_SECURE"]
    _init_extensions(app)
    _register_blueprints(app)

    from dashboard.auth.guard import init_guard
    from dashboard.cli import register_cli
    from dashboard.errors import register_error_handlers
    from dashboard.i18n import init_i18n
    from dashboard.notifications.webhooks import init_webhooks
    from dashboard.sandbox.cli import sandbox_command
    from dashboard.sandbox.cli import simulate_command
    from dashboard.security import init_security
    from dashboard.templating import init_templating

    if app.config["SANDBOX"]:
        from dashboard.sandbox import init_sandbox

        init_sandbox(app)
    init_guard(app)
    init_security(app)
    init_i18n(app)
    init_templating(app)
    register_error_handlers(app)
    register_cli(app)
    init_webhooks(app)
    if settings["TRUSTED_PROXY_COUNT"]:
        # Outermost, so the webhooks see the client's address too.
        count = settings["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_prefix=count)
    # Registered whatever SANDBOX says: it starts an app of its own with the simulators.
    app.cli.add_command(sandbox_command)
    app.cli.add_command(simulate_command)
    return app


def _init_extensions(app: Flask) -> None:
    from dashboard import jobs
    from dashboard import models  # noqa: F401 - puts every table on the metadata
    from dashboard import tasks  # noqa: F401 - declares every job before Huey binds them
    from dashboard.db import configure_sqlite
    from dashboard.db import init_autocommit_reads
    from dashboard.extensions import csrf
    from dashboard.extensions import db
    from dashboard.extensions import htmx
    from dashboard.extensions import limiter
    from dashboard.extensions import login_manager
    from dashboard.extensions import migrate

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        elif db.engine.dialect.name == "postgresql":
            # Before the guard's hook, whose sign-in check is a request's first read.
            init_autocommit_reads(app, db)
    migrate.init_app(app, db, directory=str(_resource_dir("migrations")), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    jobs.init_jobs(app)


def _register_blueprints(app: Flask) -> None:
    from dashboard.ach.views import bp as ach_bp
    from dashboard.agreements.views import bp as agreements_bp
    from dashboard.api.admin import bp as api_keys_bp
    from dashboard.api.views import bp as api_bp
    from dashboard.approvals.views import bp as approvals_bp
    from dashboard.audit.views import bp as audit_bp
    from dashboard.auth.views import bp as auth_bp
    from dashboard.checkout.views import bp as checkout_bp
    from dashboard.db import RowIdConverter
    from dashboard.declarations.views import bp as declarations_bp
    from dashboard.events.views import bp as events_bp
    from dashboard.home.views import bp as home_bp
    from dashboard.notifications.views import bp as notifications_bp
    from dashboard.payments.views import bp as payments_bp
    from dashboard.reports.views import bp as reports_bp
    from dashboard.settlements.views import bp as settlements_bp
    from dashboard.users.views import bp as users_bp

    # Every <int:…> in a URL is a row id: one past a BIGINT's range matches no route (404), where
    # the database would refuse to compare it (500).
    app.url_map.converters["int"] = RowIdConverter
    for blueprint in (
        home_bp,
        auth_bp,
        users_bp,
        audit_bp,
        payments_bp,
        agreements_bp,
        ach_bp,
        settlements_bp,
        approvals_bp,
        notifications_bp,
        reports_bp,
        events_bp,
        checkout_bp,
        declarations_bp,
        api_keys_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)


__all__ = ["create_app"]
