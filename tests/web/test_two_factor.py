"""Two-factor sign-in as staff meet it: enrolling from the account page, the code after the password,
wrong codes counting toward the lockout, the roles that must enrol, and an admin's reset."""

from __future__ import annotations

import re
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import select

from dashboard.auth.models import RecoveryCode
from dashboard.auth.models import SecondFactor
from dashboard.auth.models import is_enrolled
from dashboard.auth.second_factor import CHECKED_AT
from dashboard.auth.service import MAX_FAILED_LOGINS
from dashboard.extensions import db
from dashboard.users.models import User
from tests.conftest import TEST_PASSWORD
from tests.factories import code_now
from tests.factories import make_second_factor

HTMX = {"HX-Request": "true"}
REQUIRED = frozenset({"manager", "admin", "finance"})
_SECRET = re.compile(r'<code class="secret" id="two-factor-secret">([A-Z2-7 ]+)</code>')


@pytest.fixture
def required(app: Flask, monkeypatch) -> None:
    """Turn on the default requirement (the test settings turn it off for every other test)."""
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", REQUIRED)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def enrol(app: Flask, user: User) -> str:
    with app.app_context():
        return make_second_factor(db.session, user.id)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def password_step(post, user: User, using=None, **fields):
    data = {"email": user.email, "password": TEST_PASSWORD, **fields}
    return post("/login", data, using=using, headers=HTMX)


# --- enrolment ---------------------------------------------------------------------------------------


def test_enrolling_shows_a_qr_code_and_the_key_then_ten_recovery_codes_once(
    app, client, login_as, post, fake_clock, audit_rows
):
    user = login_as("support")

    page = client.get("/account/two-factor")
    assert page.status_code == 200
    body = text(page)
    assert '<figure class="qr" id="two-factor-qr"><svg' in body
    assert "<script" not in body.split("<main")[1]
    secret = _SECRET.search(body)[1].replace(" ", "")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")

    wrong = post("/account/two-factor", {"code": code_now(secret, steps=4)}, headers=HTMX)
    assert wrong.status_code == 422
    assert 'class="error-summary"' in text(wrong) and "That code is wrong" in text(wrong)

    done = post("/account/two-factor", {"code": code_now(secret)}, headers=HTMX)
    assert done.status_code == 200
    shown = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", text(done))
    assert len(set(shown)) == 10
    assert "Two-factor sign-in is on." in text(done)
    with app.app_context():
        assert is_enrolled(user.id)
        assert db.session.scalar(select(SecondFactor.secret).where(SecondFactor.user_id == user.id)) == secret

    again = text(client.get("/account/two-factor"))
    assert "Two-factor sign-in is on" in again and "Recovery codes left: 10." in again
    assert not any(code in again for code in shown)
    assert [row.action for row in audit_rows() if row.action.startswith("auth.")] == [
        "auth.enrol_failed",
        "auth.second_factor_enrolled",
    ]


def test_the_account_header_links_to_two_factor_sign_in(client, login_as):
    login_as("viewer")
    assert '<a href="/account/two-factor">Two-factor</a>' in text(client.get("/"))


# --- the sign-in's second step -----------------------------------------------------------------------


def test_an_enrolled_user_gives_a_code_after_the_password_before_the_session_is_signed_in(
    app, client, create_user, post, fake_clock, audit_rows
):
    user = create_user("manager")
    secret = enrol(app, user)

    answer = password_step(post, user, next="/payments/")
    assert answer.headers["HX-Redirect"] == "/login/code"
    assert not signed_in(client)
    page = text(client.get("/login/code"))
    assert f"authenticator app you set up for <strong>{user.email}</strong>" in page
    assert "recovery codes" in page

    wrong = post("/login/code", {"code": code_now(secret, steps=3)}, headers=HTMX)
    assert wrong.status_code == 422 and "That code is wrong" in text(wrong)
    assert not signed_in(client)

    done = post("/login/code", {"code": code_now(secret)}, headers=HTMX)
    assert done.headers["HX-Redirect"] == "/payments/"
    assert signed_in(client)
    with client.session_transaction() as session:
        assert session[CHECKED_AT] == fake_clock.now().timestamp()
    actions = [row.action for row in audit_rows() if row.object_id == str(user.id)]
    assert actions[-3:] == ["auth.password_accepted", "auth.second_factor_failed", "auth.login"]
    assert audit_rows("auth.login")[-1].after == {"second_factor": "code"}


def test_the_code_step_without_a_right_password_sends_back_to_sign_in(client, fake_clock):
    answer = client.get("/login/code")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def test_the_code_step_expires_after_five_minutes(app, client, create_user, post, fake_clock):
    user = create_user("manager")
    secret = enrol(app, user)
    password_step(post, user)

    fake_clock.advance(minutes=6)
    late = post("/login/code", {"code": code_now(secret)}, headers=HTMX)

    assert late.headers["HX-Redirect"] == "/login"
    assert not signed_in(client)


def enrol_on_page(client, post) -> tuple[str, list[str]]:
    """Enrol the signed-in user from the account page; return the key and the recovery codes shown."""
    secret = _SECRET.search(text(client.get("/account/two-factor")))[1].replace(" ", "")
    done = text(post("/account/two-factor", {"code": code_now(secret)}, headers=HTMX))
    return secret, re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done)


def test_a_recovery_code_signs_in_once_instead_of_the_app(client, login_as, post, fake_clock, audit_rows):
    user = login_as("finance")
    _, codes = enrol_on_page(client, post)
    post("/logout")

    password_step(post, user)
    done = post("/login/code", {"code": codes[0]}, headers=HTMX)

    assert done.headers["HX-Redirect"] == "/"
    with client.session_transaction() as session:
        assert CHECKED_AT not in session  # it signs in; it is no fresh code for moving money
    assert audit_rows("auth.recovery_code_used")[0].after == {"left": 9}
    assert "Recovery codes left: 9." in text(client.get("/account/two-factor"))
    post("/logout")
    password_step(post, user)
    used = post("/login/code", {"code": codes[0]}, headers=HTMX)
    assert used.status_code == 422 and not signed_in(client)


def test_wrong_codes_count_with_wrong_passwords_and_a_right_password_does_not_clear_them(
    app, client, create_user, post, fake_clock, reload_user
):
    user = create_user("manager")
    secret = enrol(app, user)
    post("/login", {"email": user.email, "password": "not the password"}, headers=HTMX)
    for attempt in range(MAX_FAILED_LOGINS - 2):
        password_step(post, user)  # right, yet the count goes on
        refused = post("/login/code", {"code": code_now(secret, steps=5 + attempt)}, headers=HTMX)
        assert refused.status_code == 422
    assert reload_user(user.id).failed_logins == MAX_FAILED_LOGINS - 1

    password_step(post, user)
    locked = post(
        "/login/code", {"code": "123456" if code_now(secret) != "123456" else "654321"}, headers=HTMX
    )

    assert locked.headers["HX-Redirect"] == "/login"
    assert "Too many wrong codes" in text(client.get("/login"))
    assert reload_user(user.id).is_locked()
    again = password_step(post, user)
    assert again.status_code == 422 and "locked" in text(again)


# --- roles that must enrol ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(REQUIRED))
def test_a_required_role_enrols_before_anything_else(app, client, login_as, post, fake_clock, required, role):
    login_as(role)

    answer = client.get("/payments/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account/two-factor"
    assert client.get("/payments/", headers=HTMX).headers["HX-Redirect"] == "/account/two-factor"
    page = text(client.get("/account/two-factor"))
    assert "Set up two-factor sign-in before you continue: your role requires it." in page
    assert f"Your role ({role}) signs in with a code from an authenticator app." in page

    secret = _SECRET.search(page)[1].replace(" ", "")
    post("/account/two-factor", {"code": code_now(secret)}, headers=HTMX)
    assert client.get("/payments/").status_code == 200


def test_an_enrolled_member_of_a_required_role_is_read_with_their_second_factor_in_one_statement(
    app, client, login_as, fake_clock, required
):
    manager = login_as("manager")
    enrol(app, manager)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def caught(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", caught)
    try:
        assert client.get("/payments/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", caught)
    [read] = [statement for statement in statements if "second_factors" in statement]
    assert "FROM users" in read


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_other_roles_need_not_enrol(client, login_as, fake_clock, required, role):
    login_as(role)
    assert client.get("/payments/").status_code == 200


def test_a_temporary_password_is_replaced_first_then_the_app_enrolled(client, login_as, fake_clock, required):
    login_as("manager", must_change_password=True)

    assert client.get("/payments/").headers["Location"] == "/account/password"
    assert client.get("/account/two-factor").headers["Location"] == "/account/password"


def test_signing_out_is_possible_before_enrolling(client, login_as, post, fake_clock, required):
    login_as("finance")
    assert post("/logout").headers["Location"] == "/login"


# --- an admin's reset ------------------------------------------------------------------------------


def test_an_admin_resets_a_lost_phone_and_the_user_enrols_again_at_next_sign_in(
    app, client, other_client, login_as, create_user, post, fake_clock, required, audit_rows, reload_user
):
    from tests.web.conftest import sign_in

    user = create_user("manager")
    enrol(app, user)
    sign_in(other_client, user)
    assert other_client.get("/payments/").status_code == 200
    admin = login_as("admin")
    admin_secret = enrol(app, admin)
    page = text(client.get(f"/admin/users/{user.id}"))
    assert "Authenticator app set up." in page and 'id="reset-second-factor"' in page
    # No code given yet in this session: the change waits for a fresh one, asked once on the page.
    assert 'id="fresh-code"' in page
    refused = post(f"/admin/users/{user.id}/second-factor/reset")
    assert refused.headers["Location"] == f"/admin/users/{user.id}"
    with app.app_context():
        assert is_enrolled(user.id)
    given = post(
        "/admin/users/step-up", {"step_up_code": code_now(admin_secret), "next": f"/admin/users/{user.id}"}
    )
    assert given.headers["Location"] == f"/admin/users/{user.id}"
    assert 'id="fresh-code"' not in text(client.get(f"/admin/users/{user.id}"))

    answer = post(f"/admin/users/{user.id}/second-factor/reset")

    assert answer.headers["Location"] == f"/admin/users/{user.id}"
    page = text(client.get(f"/admin/users/{user.id}"))
    assert "has no second factor now" in page
    assert "Not set up: asked for at the next sign-in (manager requires it)." in page
    [reset] = audit_rows("user.second_factor_reset")
    assert (reset.actor_id, reset.object_id) == (admin.id, str(user.id))
    with app.app_context():
        assert not is_enrolled(user.id)
        assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    assert other_client.get("/payments/").headers["Location"].startswith("/login")  # its session ended

    assert password_step(post, user, using=other_client).headers["HX-Redirect"] == "/"
    assert other_client.get("/payments/").headers["Location"] == "/account/two-factor"
    assert reload_user(user.id).session_token != user.session_token


def test_a_reset_of_a_user_without_a_second_factor_says_so(client, login_as, create_user, post, audit_rows):
    user = create_user("support")
    login_as("admin")

    post(f"/admin/users/{user.id}/second-factor/reset")

    assert f"{user.email} has no second factor to reset." in text(client.get(f"/admin/users/{user.id}"))
    assert audit_rows("user.second_factor_reset") == []


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager"])
def test_only_admins_reset(app, client, login_as, create_user, post, role):
    user = create_user("manager")
    enrol(app, user)
    login_as(role)

    assert post(f"/admin/users/{user.id}/second-factor/reset").status_code == 403
    with app.app_context():
        assert is_enrolled(user.id)
