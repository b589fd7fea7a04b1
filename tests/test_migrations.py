"""The Alembic scripts build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import column
from sqlalchemy import inspect
from sqlalchemy import literal_column
from sqlalchemy import select
from sqlalchemy import table
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dashboard import cli
from dashboard import create_app
from dashboard.cli import prepare_database
from dashboard.db import UTCDateTime
from dashboard.extensions import db
from dashboard.reports.refund_rollups import kept_refund_rollups
from dashboard.reports.refund_rollups import recounted_refund_rollups
from tests.conftest import test_settings


@pytest.fixture
def migration_database(tmp_path: Path) -> Iterator[str]:
    """Return an empty database of the kind under test (its own, not the suite's)."""
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = make_url(url)
    name = f"{server.database}_migrations"
    admin = f"host={server.host} port={server.port or 5432} user={server.username} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _schema_differences() -> list:
    with db.engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect an expression index (upper(payee_name)), so neither side compares
        # it there; PostgreSQL compares it.
        warnings.filterwarnings("ignore", ".*expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _partial_index_predicates() -> dict[str, str]:
    """Return each partial index's predicate as the database writes it (Alembic compares none)."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")
            )
            return {name: " ".join(sql.split(" WHERE ", 1)[1].split()) for name, sql in rows}
        rows = connection.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_get_expr(indpred, indrelid) FROM pg_index"
                " WHERE indpred IS NOT NULL"
            )
        )
        return dict(rows.all())


def test_migrations_give_every_partial_index_the_models_predicate(
    tmp_path: Path, migration_database: str
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade()
        migrated = _partial_index_predicates()
        downgrade(revision="base")
        db.create_all()
        modelled = _partial_index_predicates()
        db.drop_all()
        db.engine.dispose()
    assert migrated == modelled
    assert "ix_notifications_object" in migrated


def test_migrations_match_the_models_and_run_down_and_up(tmp_path: Path, migration_database: str) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade()
        assert _schema_differences() == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "audit_log", "audit_chain_head"} <= tables
        # So a new database may be made from the models instead (prepare_database): no migration
        # writes a row into empty tables.
        with db.engine.connect() as connection:
            filled = {
                name
                for name in tables - {"alembic_version"}
                if connection.execute(select(literal_column("1")).select_from(table(name))).first()
            }
        assert filled == set()

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert _schema_differences() == []
        db.engine.dispose()


def _revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_a_new_database_is_made_from_the_models_at_the_newest_revision_and_an_older_one_upgraded(
    tmp_path: Path, migration_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    directory = app.extensions["migrate"].directory
    head = ScriptDirectory(directory).get_current_head()

    def no_migrations(**_):
        raise AssertionError("a new database ran the migrations")

    with monkeypatch.context() as patched:
        patched.setattr(cli, "upgrade", no_migrations)
        prepare_database(app)
    with app.app_context():
        assert _revision() == head
        assert _schema_differences() == []
        downgrade(revision="-1")
        assert _revision() != head

    prepare_database(app)
    with app.app_context():
        assert _revision() == head
        assert _schema_differences() == []
        db.drop_all()
        db.engine.dispose()


def test_agreements_made_before_the_auth_state_digest_get_it_on_upgrade(
    tmp_path: Path, migration_database: str
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade(revision="b6c1d8e3f5a7")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO agreements (wallet, customer_ref, auth_state, status, version, created_at, "
                    "updated_at) VALUES ('ALIPAY_HK', 'cust-old', 'as-0123456789abcdef0123456789abcdef', "
                    "'pending', 1, :now, :now)"
                ),
                {"now": datetime(2026, 11, 30, tzinfo=UTC)},
            )

        upgrade()

        with db.engine.connect() as connection:
            digest = connection.scalar(text("SELECT auth_state_hash FROM agreements"))
        assert digest == hashlib.sha256(b"as-0123456789abcdef0123456789abcdef").hexdigest()
        db.engine.dispose()


def test_agreements_made_before_their_run_out_time_was_kept_get_the_later_token_expiry_on_upgrade(
    tmp_path: Path, migration_database: str
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    day = datetime(2026, 11, 30, tzinfo=UTC)
    agreements = table(
        "agreements",
        column("wallet"),
        column("customer_ref"),
        column("auth_state"),
        column("auth_state_hash"),
        column("status"),
        column("version"),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
        column("access_token_expires_at", UTCDateTime()),
        column("refresh_token_expires_at", UTCDateTime()),
        column("expires_at", UTCDateTime()),
    )
    tokens = {
        "access-only": (day + timedelta(days=30), None),
        "renewable": (day + timedelta(days=30), day + timedelta(days=365)),
        "refresh-first": (day + timedelta(days=30), day + timedelta(days=10)),
        "no-token": (None, None),
    }
    with app.app_context():
        upgrade(revision="e2b4c6d8f0a1")
        with db.engine.begin() as connection:
            for ref, (access, refresh) in tokens.items():
                connection.execute(
                    agreements.insert().values(
                        wallet="ALIPAY_HK",
                        customer_ref=ref,
                        auth_state=f"as-{ref}",
                        auth_state_hash=hashlib.sha256(f"as-{ref}".encode()).hexdigest(),
                        status="active" if access else "pending",
                        version=1,
                        created_at=day,
                        updated_at=day,
                        access_token_expires_at=access,
                        refresh_token_expires_at=refresh,
                    )
                )

        upgrade()

        with db.engine.connect() as connection:
            kept = dict(connection.execute(select(agreements.c.customer_ref, agreements.c.expires_at)).all())
        assert kept == {
            "access-only": day + timedelta(days=30),
            "renewable": day + timedelta(days=365),
            "refresh-first": day + timedelta(days=30),
            "no-token": None,
        }
        db.engine.dispose()


def test_refunds_stored_before_the_refund_rollups_are_counted_in_them_on_upgrade(
    tmp_path: Path, migration_database: str
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    asked = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Hong Kong
    rows = {
        "payments": table(
            "payments",
            *(
                column(name)
                for name in ("id", "provider", "request_id", "amount_minor", "currency", "status")
            ),
            *(column(name) for name in ("refunded_minor", "version")),
            column("created_at", UTCDateTime()),
            column("updated_at", UTCDateTime()),
        ),
        "refunds": table(
            "refunds",
            *(column(name) for name in ("payment_id", "request_id", "amount_minor", "currency", "reason")),
            *(column(name) for name in ("status", "result_code", "version")),
            column("created_at", UTCDateTime()),
            column("updated_at", UTCDateTime()),
            column("decided_at", UTCDateTime()),
        ),
    }
    with app.app_context():
        upgrade(revision="b3e5d7f9a1c2")
        with db.engine.begin() as connection:
            connection.execute(
                rows["payments"]
                .insert()
                .values(
                    id=1,
                    provider="antom",
                    request_id="pay-1",
                    amount_minor=10_000,
                    currency="HKD",
                    status="succeeded",
                    refunded_minor=1_000,
                    version=1,
                    created_at=asked,
                    updated_at=asked,
                )
            )
            for number, (status, code, reason, decided) in enumerate(
                [
                    ("succeeded", "SUCCESS", "Customer request", asked + timedelta(minutes=20)),
                    ("failed", "REFUND_AMOUNT_EXCEED", None, None),
                    ("succeeded", None, "Customer request", None),
                ]
            ):
                connection.execute(
                    rows["refunds"]
                    .insert()
                    .values(
                        payment_id=1,
                        request_id=f"rf-{number}",
                        amount_minor=1_000,
                        currency="HKD",
                        reason=reason,
                        status=status,
                        result_code=code,
                        version=1,
                        created_at=asked,
                        updated_at=asked,
                        decided_at=decided,
                    )
                )

        upgrade()

        day = datetime(2026, 12, 1).date()
        kept = kept_refund_rollups(db.session)
        assert kept == {
            "refund_daily_totals": {
                (day, "antom", "succeeded", "HKD", "Customer request", ""): (2, 2_000),
                (day, "antom", "failed", "HKD", "", "REFUND_AMOUNT_EXCEED"): (1, 1_000),
            },
            "refund_approval_waits": {(day, "antom", "HKD", 900): (1, 1_200)},
        }
        assert kept == recounted_refund_rollups(db.session)
        db.session.remove()
        db.engine.dispose()


def test_notifications_waiting_to_be_applied_leave_the_notification_rollup_on_upgrade(
    tmp_path: Path, migration_database: str
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    tallies = table(
        "notification_tallies",
        *(column(name) for name in ("day", "provider", "outcome", "delay_bucket", "count")),
    )
    with app.app_context():
        upgrade(revision="d8f1a3c5e7b9")
        with db.engine.begin() as connection:
            for outcome, count in (("pending", 3), ("applied", 5)):
                connection.execute(
                    tallies.insert().values(
                        day=datetime(2026, 11, 30).date(),
                        provider="antom",
                        outcome=outcome,
                        delay_bucket=2,
                        count=count,
                    )
                )

        upgrade()

        with db.engine.connect() as connection:
            kept = connection.execute(select(tallies.c.outcome, tallies.c.count)).all()
    assert kept == [("applied", 5)]


def _old_chain(app) -> None:
    """Append three entries as the code before the keyed chain did (plain SHA-256)."""
    from dashboard.audit.service import GENESIS_HASH

    log = table(
        "audit_log",
        *(column(name) for name in ("seq", "actor_label", "action", "canonical", "prev_hash", "hash")),
        column("created_at", UTCDateTime()),
    )
    head = table("audit_chain_head", column("id"), column("seq"), column("hash"))
    at = datetime(2026, 11, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    with db.engine.begin() as connection:
        for seq in (1, 2, 3):
            fields = {
                "seq": seq,
                "at": at.isoformat(),
                "actor_id": None,
                "actor": "system",
                "action": "test.entry",
                "object_type": None,
                "object_id": None,
                "ip": None,
                "before": None,
                "after": None,
            }
            canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()
            connection.execute(
                log.insert().values(
                    seq=seq,
                    actor_label="system",
                    action="test.entry",
                    canonical=canonical,
                    prev_hash=prev,
                    hash=digest,
                    created_at=at,
                )
            )
            prev = digest
        connection.execute(head.insert().values(id=1, seq=3, hash=prev))


def test_an_audit_chain_hashed_before_the_key_verifies_after_the_upgrade(
    tmp_path: Path, migration_database: str
) -> None:
    from dashboard.audit.service import verify_chain

    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade(revision="f1a3c5e7b9d2")
        _old_chain(app)

        upgrade()

        assert verify_chain(db.session) == (3, None)
        db.session.remove()


def test_an_audit_chain_tampered_with_before_the_key_stops_the_upgrade(
    tmp_path: Path, migration_database: str, capfd: pytest.CaptureFixture
) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade(revision="f1a3c5e7b9d2")
        _old_chain(app)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE audit_log SET canonical = replace(canonical, 'test.entry', 'test.other') "
                    "WHERE seq = 2"
                )
            )
            before = connection.execute(text("SELECT hash FROM audit_log ORDER BY seq")).scalars().all()

        with pytest.raises(SystemExit):  # Flask-Migrate reports the migration's error and exits
            upgrade()

        with db.engine.connect() as connection:
            assert (
                connection.execute(text("SELECT hash FROM audit_log ORDER BY seq")).scalars().all() == before
            )
        db.session.remove()
    assert "audit entry #2 does not add up" in capfd.readouterr().err
