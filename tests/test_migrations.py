"""The Alembic scripts build exactly the models' schema, and go down and up again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from dashboard import create_app
from dashboard.extensions import db
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
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models_and_run_down_and_up(tmp_path: Path, migration_database: str) -> None:
    app = create_app(test_settings(tmp_path, DATABASE_URL=migration_database))
    with app.app_context():
        upgrade()
        assert _schema_differences() == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "audit_log", "audit_chain_head"} <= tables

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()
        assert _schema_differences() == []
        db.engine.dispose()
