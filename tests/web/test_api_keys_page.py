"""The API keys admin page: make a key (its secret shown once), see its use, revoke it."""

from __future__ import annotations

import re
from datetime import timedelta

from dashboard import clock
from dashboard.extensions import db
from tests.api.conftest import Storefront
from tests.factories import code_now
from tests.factories import make_second_factor

HTMX = {"HX-Request": "true"}
EVERY_SCOPE = ["agreements:write", "charges:write", "payments:write", "refunds:write", "read"]


def secret_in(html: str) -> str:
    return re.search(r'<code id="new-key-secret" class="secret">(bo_\w+_[\w-]+)</code>', html).group(1)


def test_an_admin_makes_a_key_and_sees_its_secret_once(client, login_as, post, audit_rows):
    admin = login_as("admin")
    assert "No keys yet." in client.get("/admin/api-keys/").get_data(as_text=True)

    made = post("/admin/api-keys/", {"name": "Web shop", "scopes": ["read", "refunds:write"]}, headers=HTMX)

    assert made.status_code == 200
    html = made.get_data(as_text=True)
    secret = secret_in(html)
    assert secret.startswith("bo_live_") and "it is not shown again" in html
    assert 'id="api-keys" hx-swap-oob="true"' in html and f"{secret[:12]}…" in html
    assert "Set-Cookie" not in made.headers or secret not in made.headers["Set-Cookie"]
    page = client.get("/admin/api-keys/").get_data(as_text=True)
    assert secret not in page and f"{secret[:12]}…" in page and "refunds:write, read" in page
    assert admin.name in page
    [created] = audit_rows("api_key.created")
    assert (created.actor_id, created.after["scopes"]) == (admin.id, ["refunds:write", "read"])
    assert secret not in created.canonical


def test_without_javascript_the_secret_comes_in_the_page_not_a_redirect(client, login_as, post):
    login_as("admin")

    made = post("/admin/api-keys/", {"name": "Billing", "scopes": ["read"]})

    assert made.status_code == 200 and "<nav" in made.get_data(as_text=True)
    assert secret_in(made.get_data(as_text=True)).startswith("bo_live_")


def test_an_invalid_key_form_answers_422_with_its_errors(client, login_as, post):
    login_as("admin")
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()

    no_scope = post("/admin/api-keys/", {"name": "Web shop"}, headers=HTMX)
    past = post(
        "/admin/api-keys/", {"name": "Web shop", "scopes": ["read"], "expires_on": yesterday}, headers=HTMX
    )

    assert no_scope.status_code == 422 and past.status_code == 422
    assert 'id="create-key-errors"' in no_scope.get_data(as_text=True)
    assert "Choose at least one scope." in no_scope.get_data(as_text=True)
    assert "Choose an expiry in the future, or none." in past.get_data(as_text=True)
    assert "new-key-secret" not in no_scope.get_data(as_text=True) + past.get_data(as_text=True)


def test_the_page_shows_last_use_and_a_revoked_key_stops_working(app, client, login_as, post, audit_rows):
    admin = login_as("admin")
    secret = secret_in(
        post("/admin/api-keys/", {"name": "Web shop", "scopes": EVERY_SCOPE}).get_data(as_text=True)
    )
    shop = Storefront(app.test_client(), secret)
    assert shop.get("/payments").status_code == 200
    page = client.get("/admin/api-keys/").get_data(as_text=True)
    assert "from 127.0.0.1" in page
    key_id = re.search(r'id="api-key-(\d+)"', page).group(1)

    revoked = post(f"/admin/api-keys/{key_id}/revoke")

    assert revoked.status_code == 302
    assert "revoked" in client.get("/admin/api-keys/").get_data(as_text=True)
    assert shop.get("/payments").status_code == 401
    assert [row.actor_id for row in audit_rows("api_key.revoked")] == [admin.id]
    assert post(f"/admin/api-keys/{key_id}/revoke").status_code == 302  # again: told, nothing changes
    assert len(audit_rows("api_key.revoked")) == 1


def test_making_a_key_asks_an_admin_with_an_app_for_a_fresh_code(app, client, login_as, post, audit_rows):
    admin = login_as("admin")
    with app.app_context():
        secret = make_second_factor(db.session, admin.id)
    key = {"name": "Billing", "scopes": ["refunds:write", "charges:write"]}

    refused = post("/admin/api-keys/", key, headers=HTMX)

    assert refused.status_code == 422
    assert 'id="field-step_up_code"' in refused.get_data(as_text=True)
    assert audit_rows("api_key.created") == []
    made = post("/admin/api-keys/", {**key, "step_up_code": code_now(secret)}, headers=HTMX)
    assert made.status_code == 200
    assert secret_in(made.get_data(as_text=True)).startswith("bo_")  # shown once, as without a code
