"""A rolled-back ``db_session`` tier that really stays inside the outer transaction.

``tests/conftest.py`` builds its tier with ``db._make_scoped_session({"bind": connection})``,
but Flask-SQLAlchemy's ``Session.get_bind`` ignores the session-level bind and returns the
engine for every mapped table, so ORM writes commit for real and leak into later tests.
This override (used by ``tests/unit`` and ``tests/web``) binds every query to the test's
connection until the shared fixture is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_sqlalchemy.session import Session as FlaskSession

from dashboard.extensions import db


class ConnectionBoundSession(FlaskSession):
    """A Flask-SQLAlchemy session that always uses the connection it was given."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@pytest.fixture
def db_session(app: Flask) -> Iterator[None]:
    """Run the test in a transaction that is rolled back; app commits become savepoints."""
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
