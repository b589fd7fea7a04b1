"""Every endpoint × every scope × a missing, unknown, revoked, expired and wrong-environment key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dashboard import clock
from dashboard.api import service
from dashboard.api.models import SCOPES
from dashboard.api.models import ApiKey
from dashboard.api.openapi import document
from dashboard.api.openapi import scope_of
from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from tests.api.conftest import Storefront

MISSING_ID = "999999"
OPERATIONS = [
    (
        method.upper(),
        path.replace("{agreement_id}", MISSING_ID)
        .replace("{payment_id}", MISSING_ID)
        .replace("{refund_id}", MISSING_ID),
        scope_of(operation),
    )
    for path, methods in document()["paths"].items()
    for method, operation in methods.items()
]


def call(storefront: Storefront, method: str, path: str):
    return storefront.get(path) if method == "GET" else storefront.post(path, {})


def refusals(app) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "api_key.refused")))


def test_every_operation_of_the_document_is_in_the_matrix():
    assert len(OPERATIONS) == 10
    assert {scope for _method, _path, scope in OPERATIONS} == set(SCOPES)


@pytest.mark.parametrize(("method", "path", "needed"), OPERATIONS)
def test_each_scope_opens_exactly_its_operations(app, client, make_key, method, path, needed):
    for scope in SCOPES:
        response = call(Storefront(client, make_key((scope,))), method, path)
        if scope == needed:
            assert response.status_code not in (401, 403), (scope, response.get_json())
        else:
            assert response.status_code == 403, scope
            assert response.get_json()["type"] == "urn:back-office:problem:insufficient-scope"
            assert needed in response.get_json()["detail"]
    wrong_scope = [row.after for row in refusals(app)]
    assert len(wrong_scope) == len(SCOPES) - 1
    assert {row["reason"] for row in wrong_scope} == {"insufficient_scope"}
    assert {row["scope"] for row in wrong_scope} == {needed}


@pytest.mark.parametrize(("method", "path", "needed"), OPERATIONS)
def test_a_missing_unknown_revoked_expired_or_sandbox_key_is_refused_and_audited(
    app, client, make_key, fake_clock, monkeypatch, method, path, needed
):
    revoked = make_key()
    with app.test_request_context():
        service.revoke_key(db.session.scalar(select(ApiKey.id).order_by(ApiKey.id.desc())), actor_id=None)
        db.session.remove()
    expiring = make_key(expires_at=clock.now() + timedelta(hours=1))
    monkeypatch.setitem(app.config, "SANDBOX", True)
    sandbox_key = make_key()
    monkeypatch.setitem(app.config, "SANDBOX", False)
    fake_clock.advance(hours=2)
    cases = {
        "missing": None,
        "unknown": "bo_live_" + "x" * 43,
        "revoked": revoked,
        "expired": expiring,
        "wrong_environment": sandbox_key,
    }
    for reason, secret in cases.items():
        response = call(Storefront(client, secret), method, path)
        assert response.status_code == 401, reason
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["type"] == "urn:back-office:problem:unauthorized"
    assert sandbox_key.startswith("bo_test_") and revoked.startswith("bo_live_")
    assert [row.after["reason"] for row in refusals(app)] == list(cases)
    assert {(row.after["method"], row.after["path"]) for row in refusals(app)} == {(method, "/api/v1" + path)}


def test_a_key_is_stored_only_as_a_keyed_hash_and_its_use_is_recorded(app, client, make_key):
    secret = make_key(("read",))
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert secret.startswith("bo_live_") and len(secret) > 40
        assert key.prefix == secret[:12] and secret not in (key.secret_hash, key.scopes, key.name)
        assert key.secret_hash == service.secret_hash(secret)
        assert key.last_used_at is None

    assert Storefront(client, secret).get("/payments").status_code == 200

    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"
        assert [row.action for row in db.session.scalars(select(AuditLog))] == ["api_key.created"]


def test_the_api_writes_no_cookie_and_needs_no_csrf_token(client, login_as, storefront):
    login_as("admin")  # a staff session in the same client must neither help nor be touched
    answer = storefront.post("/payments", {"amount": 100, "currency": "HKD"})

    assert answer.status_code == 422  # got past authentication without a CSRF token
    assert "Set-Cookie" not in answer.headers
    assert Storefront(client, None).get("/payments").status_code == 401


def test_a_staff_session_without_a_key_is_refused(client, login_as):
    login_as("manager")
    assert client.get("/api/v1/payments").status_code == 401
