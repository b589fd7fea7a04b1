"""Signing in and out, lockout, session death, idle timeout, CSRF and own password."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import pytest

from dashboard import clock
from dashboard.auth.passwords import MIN_LENGTH
from dashboard.auth.service import LOCKOUT
from dashboard.auth.service import MAX_FAILED_LOGINS
from dashboard.auth.views import LOGIN_FAILED
from dashboard.errors import CSRF_MESSAGE
from dashboard.extensions import db
from dashboard.extensions import limiter
from dashboard.users.models import User
from tests.conftest import TEST_PASSWORD
from tests.web.conftest import COOKIE
from tests.web.conftest import sign_in

NEW_PASSWORD = "a much better passphrase"


def login_target(location: str) -> tuple[str, str | None]:
    """Return the path of a redirect and its ``next`` parameter."""
    parts = urlsplit(location)
    return parts.path, parse_qs(parts.query).get("next", [None])[0]


def login(post, email, password=TEST_PASSWORD, next_path=None, **kwargs):
    data = {"email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return post("/login", data, **kwargs)


def test_login_page_renders_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Sign in</h1>" in page
    assert 'id="login-form"' in page
    assert 'name="csrf_token"' in page


def test_login_page_keeps_a_local_next_and_drops_a_foreign_one(client):
    assert 'value="/audit/"' in client.get("/login?next=/audit/").get_data(as_text=True)
    assert "evil" not in client.get("/login?next=https://evil.example/x").get_data(as_text=True)


def test_successful_login_redirects_to_next(client, create_user, post, audit_rows):
    user = create_user("viewer")
    response = login(post, user.email, next_path="/audit/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    assert [row.object_id for row in audit_rows("auth.login")] == [str(user.id)]


def test_login_accepts_the_email_in_any_case(client, create_user, post):
    user = create_user("viewer")
    assert login(post, "  " + user.email.upper()).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example/path",
        "///evil.example",
        "/\\evil.example",
        "",
        "/\t/evil.example",
        "/\n/evil.example",
        "\t//evil.example",
        "/\r\n/evil.example",
        "javascript:alert(1)",
        "/ok/../\x7f//evil.example",
    ],
)
def test_login_ignores_a_next_that_is_not_a_local_path(client, create_user, post, target):
    user = create_user("viewer")
    response = login(post, user.email, next_path=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_wrong_password_gives_the_generic_message_and_counts_the_failure(
    client, create_user, post, audit_rows, reload_user
):
    user = create_user("support")
    response = login(post, user.email, "not the password")
    assert response.status_code == 422
    assert str(LOGIN_FAILED) in response.get_data(as_text=True)
    assert reload_user(user.id).failed_logins == 1
    [failed] = audit_rows("auth.login_failed")
    assert failed.object_id == str(user.id)
    assert failed.actor_label == user.email
    assert failed.after == {"failed_logins": 1}
    assert client.get("/").status_code == 302  # still signed out


def test_the_failure_message_states_the_lockout_rule_in_force(client, create_user, post):
    user = create_user("support")
    page = login(post, user.email, "not the password").get_data(as_text=True)
    minutes = LOCKOUT // timedelta(minutes=1)
    assert f"After {MAX_FAILED_LOGINS} failed attempts an account is locked for {minutes} minutes." in page


def test_unknown_email_gives_the_same_generic_message(client, post, audit_rows):
    response = login(post, "nobody@staff.example", "whatever password")
    assert response.status_code == 422
    assert str(LOGIN_FAILED) in response.get_data(as_text=True)
    [failed] = audit_rows("auth.login_failed")
    assert failed.after == {"email": "nobody@staff.example", "reason": "unknown"}


def test_five_failures_lock_the_account_for_fifteen_minutes(
    client, fake_clock, create_user, post, audit_rows, reload_user
):
    user = create_user("finance")
    for _ in range(5):
        assert login(post, user.email, "not the password").status_code == 422
    assert reload_user(user.id).is_locked()
    [locked] = audit_rows("auth.locked")
    assert locked.object_id == str(user.id)

    refused = login(post, user.email)
    assert refused.status_code == 422
    assert str(LOGIN_FAILED) in refused.get_data(as_text=True)
    assert audit_rows("auth.login_refused")[-1].after == {"reason": "locked"}

    fake_clock.advance(minutes=14, seconds=59)
    assert login(post, user.email).status_code == 422
    fake_clock.advance(seconds=1)
    assert login(post, user.email).status_code == 302
    assert reload_user(user.id).failed_logins == 0


def test_a_success_resets_the_failure_count(client, create_user, post, reload_user):
    user = create_user("viewer")
    for _ in range(4):
        login(post, user.email, "not the password")
    assert login(post, user.email).status_code == 302
    assert reload_user(user.id).failed_logins == 0


def test_a_disabled_user_cannot_log_in(client, create_user, post, audit_rows):
    user = create_user("viewer", active=False)
    response = login(post, user.email)
    assert response.status_code == 422
    assert str(LOGIN_FAILED) in response.get_data(as_text=True)
    assert audit_rows("auth.login_refused")[-1].after == {"reason": "disabled"}


def test_disabling_a_user_ends_their_open_session(client, other_client, create_user, post):
    user = create_user("support")
    assert login(post, user.email).status_code == 302
    assert client.get("/").status_code == 200

    admin = create_user("admin")
    sign_in(other_client, admin)
    assert (
        post(f"/admin/users/{user.id}/disable", {"confirmed": "yes"}, using=other_client).status_code == 302
    )

    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_copied_cookie_is_refused_after_logout(client, app, create_user, post):
    user = create_user("viewer")
    login(post, user.email)
    cookie = client.get_cookie(COOKIE).value
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    assert thief.get("/").status_code == 200  # the copy works while the session lives

    response = post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"

    replay = app.test_client()
    replay.set_cookie(COOKIE, cookie)
    response = replay.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_is_audited_and_flashes(client, login_as, post, audit_rows):
    user = login_as("viewer")
    post("/logout")
    assert audit_rows("auth.logout")[-1].object_id == str(user.id)
    assert "You are signed out." in client.get("/login").get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, create_user):
    user = create_user("viewer")
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert str(CSRF_MESSAGE) in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_with_a_forged_csrf_token_is_refused(client, create_user):
    user = create_user("viewer")
    client.get("/login")
    data = {"email": user.email, "password": TEST_PASSWORD, "csrf_token": "forged"}
    assert client.post("/login", data=data).status_code == 400


def test_logout_without_csrf_token_is_refused(client, login_as):
    login_as("viewer")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_htmx_post_with_the_csrf_header_is_accepted(client, csrf, login_as):
    login_as("viewer")
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": csrf(client)})
    assert response.status_code == 302


def test_idle_session_is_signed_out_after_thirty_minutes(client, fake_clock, login_as):
    login_as("viewer")
    fake_clock.advance(minutes=29)
    assert client.get("/").status_code == 200  # activity restarts the idle timer
    fake_clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    fake_clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302
    assert login_target(response.headers["Location"]) == ("/login", "/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after a period of inactivity." in page
    assert client.get("/").status_code == 302


def test_a_request_within_a_minute_sends_no_cookie_and_one_after_renews_it(
    client, create_user, fake_clock, post
):
    login(post, create_user("viewer").email)
    signed_in = client.get_cookie(COOKIE).value
    fake_clock.advance(seconds=59)
    response = client.get("/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    fake_clock.advance(seconds=2)
    response = client.get("/")
    assert COOKIE in response.headers["Set-Cookie"]
    assert client.get_cookie(COOKIE).value != signed_in


def test_anonymous_page_request_redirects_to_login_with_next(client):
    response = client.get("/audit/?action=auth")
    assert response.status_code == 302
    assert login_target(response.headers["Location"]) == ("/login", "/audit/?action=auth")


def test_anonymous_htmx_request_gets_401_with_hx_redirect(client):
    response = client.get(
        "/audit/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/audit/?action=user"},
    )
    assert response.status_code == 401
    assert login_target(response.headers["HX-Redirect"]) == ("/login", "/audit/?action=user")
    assert response.get_data() == b""


def test_password_change_refuses_a_wrong_current_password(client, login_as, post, audit_rows):
    login_as("viewer")
    response = post(
        "/account/password",
        {"current_password": "not it at all", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    assert len(audit_rows("auth.password_change_failed")) == 1


def test_guessing_the_current_password_counts_toward_the_lockout_and_ends_the_session(
    client, login_as, post, audit_rows, reload_user
):
    user = login_as("viewer")
    wrong = {
        "current_password": "not it at all",
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert post("/account/password", wrong).status_code == 422
    assert not reload_user(user.id).is_locked()

    last = post("/account/password", wrong)

    assert last.status_code == 302
    assert last.headers["Location"] == "/login"
    assert reload_user(user.id).is_locked()
    assert len(audit_rows("auth.locked")) == 1
    # The session that guessed is over, and so is every other.
    assert client.get("/account/password").status_code == 302
    assert reload_user(user.id).session_token != user.session_token


@pytest.mark.parametrize("state", ["unknown", "locked", "disabled", "wrong", "right"])
def test_every_sign_in_does_the_same_password_hash_work(app, client, create_user, post, monkeypatch, state):
    from dashboard.auth import service

    user = create_user("viewer")
    with app.app_context():
        stored = db.session.get(User, user.id)
        if state == "locked":
            stored.locked_until = clock.now() + service.LOCKOUT
        if state == "disabled":
            stored.active = False
        db.session.commit()
    checked = []
    real = service.verify_password
    monkeypatch.setattr(service, "verify_password", lambda *args: checked.append(1) or real(*args))

    email = "nobody@staff.example" if state == "unknown" else user.email
    login(post, email, password="not it at all" if state == "wrong" else TEST_PASSWORD)

    assert len(checked) == 1


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaa", "Repeats like"),
        ("password1234", "common password"),
        ("qwertyuiopas", "similar to a commonly used password"),
        ("viewer2example", "too easy to guess"),  # scores 3 alone, 1 beside the user's own e-mail
    ],
)
def test_password_change_refuses_a_password_that_is_easy_to_guess(client, login_as, post, password, why):
    login_as("viewer", email="viewer2@staff.example")
    response = post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": password, "confirm_password": password},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This password is too easy to guess" in page and why in page


def test_password_change_refuses_a_short_password(client, login_as, post):
    login_as("viewer")
    response = post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)


def test_the_password_page_states_the_length_rule_in_force(client, login_as):
    login_as("viewer")
    page = client.get("/account/password").get_data(as_text=True)
    assert f'<p class="help" id="help-new_password">At least {MIN_LENGTH} characters, hard to guess' in page


def test_password_change_refuses_two_different_new_passwords(client, login_as, post):
    login_as("viewer")
    response = post(
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD + "x",
        },
    )
    assert response.status_code == 422
    assert "The two new passwords differ." in response.get_data(as_text=True)


def test_password_change_htmx_error_returns_only_the_form(client, login_as, csrf):
    login_as("viewer")
    response = client.post(
        "/account/password",
        data={"current_password": "wrong", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="password-form"')
    assert "<html" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_password_change_navigates_to_the_overview_which_shows_the_flash(client, login_as, csrf):
    login_as("viewer")
    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/"
    assert "Location" not in response.headers
    assert response.get_data() == b""  # nothing for htmx to swap into the form
    assert "HX-Request" in response.headers["Vary"]
    page = client.get("/").get_data(as_text=True)
    assert "Your password is changed. Other sessions were signed out." in page
    assert page.count('<header class="topbar">') == 1


def test_a_refused_form_leads_with_a_summary_linking_each_field(client, login_as, csrf):
    login_as("viewer")
    response = client.post(
        "/account/password",
        data={"current_password": "", "new_password": NEW_PASSWORD, "confirm_password": "something else"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    summary = re.search(
        r'<div id="password-errors" class="error-summary" tabindex="-1"[^>]*>(.*?)</div>', body, re.S
    )
    assert summary, "no error summary"
    assert "This form has 2 problems:" in summary.group(1)
    assert re.findall(r'<a href="#([\w-]+)">', summary.group(1)) == ["current_password", "confirm_password"]
    assert body.index("password-errors") < body.index('id="field-current_password"')
    assert "error-summary" not in client.get("/account/password").get_data(as_text=True)


def test_a_failed_sign_in_leads_with_a_summary_naming_and_linking_both_fields(client, create_user, csrf):
    user = create_user("viewer")
    response = client.post(
        "/login",
        data={"email": user.email, "password": "not the password"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    body = response.get_data(as_text=True)
    summary = re.search(
        r'<div id="login-errors" class="error-summary" tabindex="-1"[^>]*>(.*?)</div>', body, re.S
    )
    assert summary, "no error summary"
    assert re.findall(r'<a href="#([\w-]+)">([^:]+):', summary.group(1)) == [
        ("email", "E-mail"),
        ("password", "Password"),
    ]
    assert body.count('aria-invalid="true"') == 2


def test_htmx_login_navigates_to_next(client, create_user, csrf):
    user = create_user("viewer")
    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD, "next": "/audit/"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/audit/"
    assert client.get("/audit/").status_code == 200


def test_htmx_login_failure_answers_the_form_block(client, create_user, csrf):
    user = create_user("viewer")
    response = client.post(
        "/login",
        data={"email": user.email, "password": "not the password"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="login-form"')
    assert "<html" not in body
    assert str(LOGIN_FAILED) in body


def test_the_login_form_carries_next_in_a_hidden_field(client):
    page = client.get("/login?next=/audit/").get_data(as_text=True)
    assert '<input id="next" name="next" type="hidden" value="/audit/">' in page


def test_password_change_keeps_this_session_and_ends_the_others(client, app, login_as, post, audit_rows):
    user = login_as("viewer")
    elsewhere = app.test_client()
    elsewhere.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    assert elsewhere.get("/").status_code == 200

    response = post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Your password is changed." in page.get_data(as_text=True)
    assert elsewhere.get("/").status_code == 302
    assert audit_rows("auth.password_changed")[-1].object_id == str(user.id)

    post("/logout")
    assert login(post, user.email, TEST_PASSWORD).status_code == 422
    assert login(post, user.email, NEW_PASSWORD).status_code == 302


def test_must_change_password_forces_the_password_page(client, login_as, post):
    login_as("viewer", must_change_password=True)
    for path in ("/", "/audit/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert "An admin set a temporary password for you." in page
    assert "Choose a new password before you continue." in page

    response = post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_must_change_password_sends_htmx_requests_to_the_password_page_whole(client, login_as):
    login_as("viewer", must_change_password=True)
    response = client.get("/payments/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/account/password"
    assert "Location" not in response.headers and response.get_data() == b""


def test_login_with_a_temporary_password_goes_to_the_password_page(client, create_user, post):
    user = create_user("viewer", must_change_password=True)
    response = login(post, user.email, next_path="/audit/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/password"


def test_signed_in_user_opening_login_goes_home(client, login_as):
    login_as("viewer")
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.fixture
def limited_app(make_app):
    """An app with the rate limiter on (the shared test app builds it switched off)."""
    previous = limiter.enabled
    application = make_app(RATELIMIT_ENABLED=True)
    limiter.reset()
    yield application
    limiter.reset()
    limiter.enabled = previous


def test_the_eleventh_login_attempt_in_a_minute_gets_429(limited_app, post):
    browser = limited_app.test_client()
    for attempt in range(10):
        response = login(post, "nobody@staff.example", f"guess number {attempt}", using=browser)
        assert response.status_code == 422, attempt
    response = login(post, "nobody@staff.example", "guess number 11", using=browser)
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert browser.get("/login").status_code == 200  # only POSTs are limited
    other_address = limited_app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    answer = login(post, "nobody@staff.example", "guess number 12", using=other_address)
    assert answer.status_code == 422


def test_the_eleventh_code_in_a_minute_gets_429(limited_app, post):
    from dashboard.users import service
    from tests.factories import make_second_factor

    with limited_app.test_request_context():
        user = service.create_user("coded@staff.example", "Coded Tester", "manager", TEST_PASSWORD)
        make_second_factor(db.session, user.id)
    browser = limited_app.test_client()
    assert login(post, "coded@staff.example", using=browser).headers["Location"] == "/login/code"
    answers = [post("/login/code", {"code": "000000"}, using=browser).status_code for _ in range(11)]
    assert 429 not in answers[:10] and answers[10] == 429


@pytest.mark.parametrize("encoded", ["/%09/evil.example", "/%0A/evil.example", "/%0D%0ALocation:%20//evil"])
def test_a_next_with_a_control_character_in_the_address_leads_home(client, create_user, post, encoded):
    page = client.get(f"/login?next={encoded}")
    assert page.status_code == 200
    assert "evil" not in page.get_data(as_text=True)
    user = create_user("viewer")
    response = login(post, user.email, next_path=unquote(encoded))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("length", [72, 80, 256])
def test_a_long_passphrase_is_judged_and_accepted(client, login_as, post, reload_user, length):
    user = login_as("viewer")
    words = "river lantern copper quietly orbit meadow crisp tundra velvet saffron "
    passphrase = (words * 4)[:length].strip()
    response = post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": passphrase, "confirm_password": passphrase},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert reload_user(user.id).failed_logins == 0
