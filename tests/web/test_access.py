"""The role matrix: every route, every role, plus anonymous and htmx-anonymous callers."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Rule

from dashboard import clock
from dashboard.auth.access import BEARER
from dashboard.auth.access import PUBLIC
from dashboard.auth.access import ROLE_INCLUDES
from dashboard.auth.access import Access
from dashboard.auth.access import any_staff
from dashboard.auth.access import build_access_table
from dashboard.auth.access import role_allows
from dashboard.auth.access import roles
from dashboard.auth.access import roles_for
from dashboard.users import service as users
from tests.web.conftest import csrf_token_for
from tests.web.conftest import sign_in

ROLES = ["viewer", "support", "finance", "manager", "admin"]
DUMMY_ID = 999_999


def routes(app: Flask) -> list[tuple[Rule, str, str]]:
    """Return (rule, method, url) for every route of staff and the public; GET where possible, else POST.

    The storefront API's routes are left out: an API key opens them, never a role
    (``tests/api/test_keys.py`` walks them with every scope and every kind of bad key).
    """
    found = []
    adapter = app.url_map.bind("localhost")
    table = app.extensions["access_table"]
    for rule in app.url_map.iter_rules():
        if table.get(rule.endpoint) == BEARER:
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            values[name] = DUMMY_ID if isinstance(converter, IntegerConverter) else "app.css"
        method = "GET" if "GET" in rule.methods else "POST"
        found.append((rule, method, adapter.build(rule.endpoint, values, method=method)))
    return found


def call(app: Flask, client, method: str, url: str, headers: dict | None = None):
    if method == "GET":
        # Read the whole body, as a server would: a streamed download (the payments CSV) keeps its
        # request's context open until its body is read or closed.
        return client.get(url, headers=headers, buffered=True)
    return client.post(url, data={"csrf_token": csrf_token_for(app, client)}, headers=headers)


def test_every_route_declares_who_may_call_it(app):
    table = app.extensions["access_table"]
    undeclared = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(table))
    assert undeclared == []


def test_only_the_storefront_api_is_opened_by_a_key_and_no_role_opens_it(app):
    table = app.extensions["access_table"]
    by_key = {rule.rule for rule in app.url_map.iter_rules() if table[rule.endpoint] == BEARER}
    assert by_key and all(path.startswith("/api/v1/") for path in by_key)
    assert not any(role_allows(role, BEARER) for role in ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, create_user, reload_user, audit_rows, role):
    table = app.extensions["access_table"]
    user = create_user(role)
    wrong = []
    for rule, method, url in routes(app):
        browser = app.test_client()
        sign_in(browser, reload_user(user.id))
        denials_before = len(audit_rows("access.denied"))
        response = call(app, browser, method, url)
        allowed = role_allows(role, table[rule.endpoint])
        if allowed and response.status_code == 403:
            wrong.append(f"{method} {url}: {role} may call it but got 403")
        elif not allowed:
            denials = audit_rows("access.denied")[denials_before:]
            if response.status_code != 403:
                wrong.append(f"{method} {url}: {role} may not call it but got {response.status_code}")
            elif [(row.object_id, row.actor_id) for row in denials] != [(rule.endpoint, user.id)]:
                wrong.append(f"{method} {url}: 403 without one access.denied audit row")
            elif "You do not have access to this." not in response.get_data(as_text=True):
                wrong.append(f"{method} {url}: 403 page does not explain itself")
    assert wrong == []


def test_anonymous_callers_are_sent_to_login_except_on_public_routes(app, client):
    table = app.extensions["access_table"]
    wrong = []
    for rule, method, url in routes(app):
        response = call(app, app.test_client(), method, url)
        location = response.headers.get("Location", "")
        if table[rule.endpoint] == PUBLIC:
            if response.status_code in (401, 403) or location.startswith("/login?"):
                wrong.append(f"{method} {url}: public but answered {response.status_code} {location}")
        elif response.status_code != 302 or not location.startswith("/login"):
            wrong.append(f"{method} {url}: anonymous got {response.status_code} {location}")
    assert wrong == []


def test_anonymous_htmx_callers_get_401_with_hx_redirect(app, client):
    table = app.extensions["access_table"]
    wrong = []
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/audit/"}
    for rule, method, url in routes(app):
        if table[rule.endpoint] == PUBLIC:
            continue
        response = call(app, app.test_client(), method, url, headers)
        if response.status_code != 401 or not response.headers.get("HX-Redirect", "").startswith("/login"):
            wrong.append(f"{method} {url}: htmx anonymous got {response.status_code}")
    assert wrong == []


def test_an_endpoint_without_a_declaration_is_denied(make_app):
    application = make_app()

    def undeclared_view():
        return "secret"

    application.add_url_rule("/undeclared", "undeclared", undeclared_view)
    assert "undeclared" not in build_access_table(application)
    assert "undeclared" not in application.extensions["access_table"]

    with application.test_request_context():
        admin = users.create_user(
            "root@staff.example", "Root", "admin", "correct horse battery", must_change_password=False
        )
        token = admin.session_token
    browser = application.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
        session["seen"] = clock.now().timestamp()
    assert browser.get("/").status_code == 200
    response = browser.get("/undeclared")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)
    assert application.test_client().get("/undeclared").status_code == 302


def test_a_declaration_missing_from_the_table_is_denied_at_request_time(
    app, client, login_as, monkeypatch, audit_rows
):
    login_as("admin")
    assert client.get("/admin/users/").status_code == 200
    table = dict(app.extensions["access_table"])
    del table["users.index"]
    monkeypatch.setitem(app.extensions, "access_table", table)
    assert client.get("/admin/users/").status_code == 403
    assert audit_rows("access.denied")[-1].object_id == "users.index"


def test_declarations_collected_into_the_table():
    app = Flask("declarations")

    @roles("support")
    def refund():
        return ""

    @any_staff
    def overview():
        return ""

    def forgotten():
        return ""

    for view in (refund, overview, forgotten):
        app.add_url_rule(f"/{view.__name__}", view.__name__, view)
    table = build_access_table(app)
    assert set(table) == {"refund", "overview", "static"}
    assert table["static"] == PUBLIC
    assert list(roles_for(table["refund"])) == ["support", "manager"]
    assert list(roles_for(table["overview"])) == ROLES


def test_roles_refuses_unknown_or_missing_roles():
    with pytest.raises(ValueError, match="known roles"):
        roles("superuser")
    with pytest.raises(ValueError, match="known roles"):
        roles()


def test_manager_can_open_everything_support_can(app):
    for endpoint, allowed in app.extensions["access_table"].items():
        if role_allows("support", allowed):
            assert role_allows("manager", allowed), endpoint
    assert role_allows("manager", Access(frozenset({"support"})))


def test_role_inheritance():
    support_only = Access(frozenset({"support"}))
    manager_only = Access(frozenset({"manager"}))
    finance_only = Access(frozenset({"finance"}))
    viewer_only = Access(frozenset({"viewer"}))
    assert roles_for(support_only) == ["support", "manager"]
    assert roles_for(manager_only) == ["manager"]
    assert roles_for(finance_only) == ["finance"]
    assert roles_for(viewer_only) == ROLES
    assert not role_allows("admin", manager_only)  # admins do not approve money
    assert not role_allows("admin", finance_only)
    assert not role_allows("manager", finance_only)
    assert not role_allows("nobody", viewer_only)
    assert set(ROLE_INCLUDES) == set(ROLES)


def test_a_view_limited_to_exact_roles_does_not_inherit():
    auditors = Access(frozenset({"viewer", "admin"}), inherit=False)
    assert roles_for(auditors) == ["viewer", "admin"]


def test_audit_log_is_for_auditors_and_admins_only(app):
    assert roles_for(app.extensions["access_table"]["audit.index"]) == ["viewer", "admin"]
    assert roles_for(app.extensions["access_table"]["users.index"]) == ["admin"]
