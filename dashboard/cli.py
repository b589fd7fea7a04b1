"""Flask commands: create-user, worker, demo, serve, audit-verify, rollups rebuild."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import inspect

from dashboard import jobs
from dashboard.db import give_way_to_other_writers
from dashboard.serving import serve_until_stopped

#: One demo account per role; the passwords are printed when the demo starts.
DEMO_USERS = [
    ("admin@demo.example", "Ada Admin", "admin"),
    ("manager@demo.example", "Mei Manager", "manager"),
    ("manager2@demo.example", "Max Manager", "manager"),  # approves what Mei asks for (four eyes)
    ("support@demo.example", "Sam Support", "support"),
    ("finance@demo.example", "Fai Finance", "finance"),
    ("viewer@demo.example", "Vic Viewer", "viewer"),
]
DEMO_PASSWORD_SUFFIX = "-demo-pass"  # noqa: S105 - demo accounts only, printed at start


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app.cli``."""
    from dashboard.catalogues import translations

    for command in (create_user, worker, demo, serve, audit_verify, rollups, translations):
        app.cli.add_command(command)


@click.command("create-user")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice(["viewer", "support", "finance", "manager", "admin"])
)
@click.option("--name", default=None, help="Display name (defaults to the part before @).")
@click.option("--password", default=None, help="Prompted for when omitted.")
def create_user(email: str, role: str, name: str | None, password: str | None) -> None:
    """Create a staff account."""
    from dashboard.users import service

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_user(
            email, name or email.split("@")[0], role, password, must_change_password=False
        )
    except service.UserRuleBroken as broken:
        raise click.ClickException(broken.message) from None
    click.echo(f"created {user.email} ({user.role})")


@click.command("audit-verify")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    metavar="SEQ:HASH",
    help="A checkpoint kept outside the database; the chain must still hold it (repeatable).",
)
@click.option(
    "--checkpoint-file",
    type=click.File(encoding="utf-8"),
    help="A file of checkpoint lines (AUDIT_CHECKPOINT_FILE, or the log's lines); every one is checked.",
)
def audit_verify(checkpoints: tuple[str, ...], checkpoint_file) -> None:
    """Recompute the audit hash chain (keyed with AUDIT_KEY), name the first broken row, and check
    that it still holds every checkpoint given."""
    from dashboard.audit.checkpoints import checkpoint_problems
    from dashboard.audit.checkpoints import parse_checkpoint
    from dashboard.audit.checkpoints import parse_checkpoints
    from dashboard.audit.service import verify_chain
    from dashboard.db import lift_statement_timeout
    from dashboard.extensions import db

    try:
        anchors = [parse_checkpoint(text) for text in checkpoints]
        if checkpoint_file is not None:
            anchors += parse_checkpoints(checkpoint_file)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--checkpoint / --checkpoint-file") from None
    lift_statement_timeout(db.session)
    checked, broken = verify_chain(db.session)
    if broken:
        raise click.ClickException(
            f"audit chain broken at entry #{broken.seq} (row id {broken.row_id}): {broken.reason}; "
            f"{checked} entries before it are intact"
        )
    problems = checkpoint_problems(db.session, anchors)
    if problems:
        raise click.ClickException("; ".join(problems))
    held = f"; it holds all {len(anchors)} checkpoints" if anchors else ""
    click.echo(f"audit chain intact: {checked} entries{held}")


@click.group("rollups")
def rollups() -> None:
    """Check the report rollups against the rows they count."""


@rollups.command("rebuild")
@click.option("--check", is_flag=True, help="Only compare; exit with 1 when a rollup differs.")
def rollups_rebuild(check: bool) -> None:
    """Recompute every rollup from its source rows, print the buckets that differ, and replace the
    rollups' content with the rebuilt buckets (unless --check)."""
    from zoneinfo import ZoneInfo

    from dashboard.db import lift_statement_timeout
    from dashboard.db import write_transaction
    from dashboard.extensions import db
    from dashboard.reports.rebuild import describe
    from dashboard.reports.rebuild import rebuild_rollups
    from dashboard.reports.rebuild import snapshot

    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    if check:
        # Compared in one read-only snapshot: writers go on meanwhile.
        session = snapshot(db.session)
        lift_statement_timeout(session)
        comparisons = rebuild_rollups(session, zone, replace=False)
        db.session.rollback()
    else:
        with write_transaction(db.session) as session:
            lift_statement_timeout(session)
            comparisons = rebuild_rollups(session, zone, replace=True)
    differing = 0
    for comparison in comparisons:
        differing += len(comparison.differences)
        click.echo(
            f"{comparison.table}: {comparison.buckets} buckets rebuilt, {len(comparison.differences)} differ"
        )
        for difference in comparison.differences:
            kept, fresh = difference.maintained, difference.rebuilt
            click.echo(f"  {describe(difference.key)}: maintained {kept}, rebuilt {fresh}")
    if check:
        if differing:
            raise click.exceptions.Exit(1)
        return
    click.echo("replaced the content of every rollup with the rebuilt buckets")


@click.command("worker")
@click.option("--workers", default=4, show_default=True, help="Worker threads.")
def worker(workers: int) -> None:
    """Run the job consumer and as many drainers in the foreground (Ctrl-C stops them)."""
    # A web request storing a provider's notification must not wait behind batch after batch.
    give_way_to_other_writers()
    huey = jobs.get_huey()
    started = jobs.Workers(huey, workers, check_worker_health=True)
    jobs.beat(huey)
    started.drainers.start()
    try:
        started.consumer.run()
    finally:
        started.drainers.stop()


def _serve_with_jobs(
    app: Flask,
    host: str,
    port: int,
    threads: int,
    prepare: Callable[[], Callable[[], Any] | None] | None = None,
) -> None:
    """Serve HTTP, run ``prepare`` (it may return a stopper), then start the jobs and the sandbox sender."""

    def start() -> Callable[[], None]:
        stop_prepared = prepare() if prepare is not None else None
        consumer = jobs.start_consumer(app.extensions["huey"])
        sandbox = app.extensions.get("sandbox")
        if sandbox is not None:
            from dashboard.sandbox import sender

            sender.start_sender(sandbox)

        def stop() -> None:
            click.echo("stopping the job workers…")
            if stop_prepared is not None:
                stop_prepared()
            if sandbox is not None:
                sender.stop_sender(sandbox)
            consumer.stop(graceful=True)

        return stop

    serve_until_stopped(app, host, port, threads, "back office", on_ready=start)


def prepare_database(app: Flask) -> None:
    """Bring the database to the newest schema.

    A database without tables (a new demo, a first ``serve``) is made from the models and marked as
    at the newest migration, as Alembic's cookbook does, in one transaction (a start cut short
    leaves it empty, not half made): a fraction of a second instead of running every migration.
    tests/test_migrations.py holds both schemas equal, and no migration writes a row into empty
    tables.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from dashboard.extensions import db

    directory = app.extensions["migrate"].directory
    with app.app_context():
        with db.engine.begin() as connection:
            empty = not inspect(connection).get_table_names()
            if empty:
                db.metadata.create_all(connection)
                MigrationContext.configure(connection).stamp(ScriptDirectory(directory), "heads")
        if not empty:
            upgrade(directory=directory)


def _demo_settings(instance_path: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": f"sqlite:///{instance_path / 'demo.db'}",
        "JOBS_DATABASE": str(instance_path / "demo-jobs.db"),
        "SANDBOX": True,
        "REDIS_URL": None,
        # The demo logins work with their printed passwords alone; anyone may still enrol an
        # authenticator app from the account page and see step-up before money moves.
        "TWO_FACTOR_REQUIRED_ROLES": "none",
    }


def seed_demo_users() -> list[tuple[str, str, str]]:
    """Create one user per role if missing; return (email, role, password) for each."""
    from sqlalchemy import select

    from dashboard.extensions import db
    from dashboard.users import service
    from dashboard.users.models import User

    credentials = []
    for email, name, role in DEMO_USERS:
        password = role + DEMO_PASSWORD_SUFFIX
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            service.create_user(email, name, role, password, must_change_password=False)
        credentials.append((email, role, password))
    return credentials


def _user_id(email: str) -> int:
    from sqlalchemy import select

    from dashboard.extensions import db
    from dashboard.users.models import User

    return db.session.scalar(select(User.id).where(User.email == email))


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def demo(host: str, port: int) -> None:
    """Run the whole back office with sandbox providers and demo data on its own SQLite file."""
    from dashboard import create_app
    from dashboard.demo import HistoryProgress
    from dashboard.demo import has_history
    from dashboard.demo import hold_pages_until_written

    instance_path = Path(current_app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    app = create_app({**_demo_settings(instance_path), "PUBLIC_BASE_URL": f"http://{host}:{port}"})
    prepare_database(app)
    progress = HistoryProgress()
    with app.app_context():
        if not has_history():
            hold_pages_until_written(app, progress)

    def seed_then_trickle() -> Callable[[], None]:
        from dashboard.demo import Demo
        from dashboard.demo import start_trickle

        demo = Demo(app)
        # Made once the first page answers: a new demo's accounts cost five full-strength password
        # hashes (about a second); a demo that has them keeps them.
        try:
            with app.app_context():
                credentials = seed_demo_users()
            click.echo("demo users (e-mail / password):")
            for email, role, password in credentials:
                click.echo(f"  {role:<8} {email:<24} {password}")
            click.echo("writing demo history through the sandbox providers…")
            with app.app_context():
                demo.seed_history(report=click.echo, progress=progress)
        finally:
            progress.done.set()
        with app.app_context():
            demo.settle_reports(report=click.echo)
            demo.ask_for_approval(_user_id("support@demo.example"))
            demo.pay_payroll(_user_id("finance@demo.example"), _user_id("manager@demo.example"))
        return start_trickle(app).set

    _serve_with_jobs(app, host, port, threads=16, prepare=seed_then_trickle)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--threads", default=16, show_default=True)
def serve(host: str, port: int, threads: int) -> None:
    """Run a single-machine install: migrate, start the job workers, serve HTTP."""
    from dashboard.config import require_production_settings
    from dashboard.providers.registry import check_settings

    app = current_app._get_current_object()
    require_production_settings(app.config)
    check_settings(app.config)
    prepare_database(app)
    _serve_with_jobs(app, host, port, threads=threads)
