"""Web-test helpers: CSRF tokens, signing a client in, reading audit rows."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from dashboard import clock
from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from dashboard.users.models import User

COOKIE = "back_office_session"


def csrf_token_for(app: Flask, client: FlaskClient) -> str:
    """Return a valid CSRF token for ``client``'s session (what Flask-WTF's generate_csrf makes)."""
    with client.session_transaction() as session:
        raw = session.get("csrf_token")
        if raw is None:
            raw = session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture
def csrf(app: Flask) -> Callable[[FlaskClient], str]:
    """Return a function giving a CSRF token for a client."""
    return lambda client: csrf_token_for(app, client)


@pytest.fixture
def post(app: Flask, client: FlaskClient) -> Callable[..., object]:
    """POST a form with its CSRF token (``client`` unless another is given)."""

    def send(url: str, data: dict | None = None, *, using: FlaskClient | None = None, **kwargs):
        target = using or client
        form = {"csrf_token": csrf_token_for(app, target), **(data or {})}
        return target.post(url, data=form, **kwargs)

    return send


def sign_in(client: FlaskClient, user: User) -> None:
    """Put ``user``'s current session token in ``client`` (as login_as does)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.session_token
        session["_fresh"] = True
        session["seen"] = clock.now().timestamp()


@pytest.fixture
def other_client(app: Flask, db_session: None) -> FlaskClient:
    """A second browser on the same rolled-back database."""
    return app.test_client()


@pytest.fixture
def audit_rows(app: Flask) -> Callable[..., list[AuditLog]]:
    """Return a function listing audit rows (oldest first), optionally for one action."""

    def rows(action: str | None = None) -> list[AuditLog]:
        with app.app_context():
            query = select(AuditLog).order_by(AuditLog.seq)
            if action:
                query = query.where(AuditLog.action == action)
            return list(db.session.scalars(query))

    return rows


@pytest.fixture
def reload_user(app: Flask) -> Callable[[int], User]:
    """Return a function reading a user fresh from the database."""

    def load(user_id: int) -> User:
        with app.app_context():
            return db.session.get(User, user_id)

    return load
