"""Staff administration: create, re-role, disable (confirmed), unlock, reset; the last-admin and own-account
rules."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from dashboard.auth.access import ROLE_INCLUDES
from dashboard.auth.passwords import MIN_LENGTH
from dashboard.extensions import db
from dashboard.users.models import User
from tests.conftest import TEST_PASSWORD
from tests.factories import code_now
from tests.web.conftest import sign_in
from tests.web.test_two_factor import enrol

NEW_USER = {
    "email": "New.Person@Staff.example",
    "name": "New Person",
    "role": "support",
    "password": "temporary password 1",
}


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def find_user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def test_admin_sees_the_user_list_and_the_form(client, admin):
    response = client.get("/admin/users/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert admin.email in page
    assert 'id="create-user-form"' in page
    assert "<html" in page
    assert "HX-Request" in response.headers["Vary"]


def test_admin_creates_a_user_who_must_change_the_password(app, client, admin, post, audit_rows):
    response = post("/admin/users/", NEW_USER)
    assert response.status_code == 302  # post/redirect/get without JavaScript
    assert response.headers["Location"] == "/admin/users/"
    assert "HX-Request" in response.headers["Vary"]
    user = find_user(app, "new.person@staff.example")
    assert user is not None and user.role == "support" and user.must_change_password
    [created] = audit_rows("user.created")[-1:]
    assert created.object_id == str(user.id)
    assert created.actor_id == admin.id
    assert created.after == {
        "email": "new.person@staff.example",
        "name": "New Person",
        "role": "support",
        "active": True,
    }
    page = client.get("/admin/users/").get_data(as_text=True)
    assert "new.person@staff.example can now log in as support." in page
    assert f'<tr id="user-{user.id}">' in page


def test_htmx_create_answers_an_empty_form_the_new_list_and_the_flash(app, client, admin, csrf):
    response = client.post(
        "/admin/users/", data=NEW_USER, headers={"HX-Request": "true", "X-CSRFToken": csrf(client)}
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<html" not in body and '<nav id="main-nav" aria-label="Main">' not in body
    form, rest = body.lstrip().split("</form>", 1)
    assert form.startswith('<form id="create-user-form"')
    assert "New Person" not in form and "new.person@staff.example" not in form  # the form starts empty
    user = find_user(app, "new.person@staff.example")
    table = re.search(r'<table class="table" id="users-table" hx-swap-oob="true">(.*?)</table>', rest, re.S)
    assert table, "the list does not come out of band"
    assert f'<tr id="user-{user.id}">' in table.group(1) and f'<tr id="user-{admin.id}">' in table.group(1)
    assert re.search(r'<div id="flash"[^>]* hx-swap-oob="true"', rest)
    assert "new.person@staff.example can now log in as support." in rest
    # The message was shown here; it does not come again on the next page.
    assert "can now log in" not in client.get("/admin/users/").get_data(as_text=True)


def test_the_forms_offer_every_role_and_state_the_password_rule(client, admin, create_user):
    user = create_user("finance")
    for url in ("/admin/users/", f"/admin/users/{user.id}"):
        page = client.get(url).get_data(as_text=True)
        assert re.findall(r'<option[^>]* value="(\w+)"', page) == list(ROLE_INCLUDES)
        assert f"At least {MIN_LENGTH} characters, hard to guess" in page


def test_creating_a_duplicate_email_is_refused(app, client, admin, post, create_user):
    create_user("viewer", email="new.person@staff.example")
    response = post("/admin/users/", NEW_USER)
    assert response.status_code == 422
    assert "A user with this e-mail already exists." in response.get_data(as_text=True)


def test_creating_a_user_with_a_weak_password_is_refused(app, client, admin, post):
    response = post("/admin/users/", {**NEW_USER, "password": "short"})
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)
    assert find_user(app, "new.person@staff.example") is None


def test_creating_a_user_with_an_unknown_role_is_refused(app, client, admin, post):
    response = post("/admin/users/", {**NEW_USER, "role": "root"})
    assert response.status_code == 422
    assert find_user(app, "new.person@staff.example") is None


def test_htmx_create_error_returns_just_the_form_block(client, admin, csrf):
    response = client.post(
        "/admin/users/",
        data={**NEW_USER, "password": "short"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="create-user-form"')
    assert "<html" not in body and "users-table" not in body
    assert "Use at least 12 characters." in body
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_get_of_the_user_list_returns_the_form_block(client, admin):
    response = client.get("/admin/users/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<form id="create-user-form"')
    assert "HX-Request" in response.headers["Vary"]


def test_user_detail_page(client, admin, create_user):
    user = create_user("finance")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert user.email in page
    assert "Disable account" in page
    assert client.get("/admin/users/999999").status_code == 404


def test_changing_a_role_ends_the_user_sessions(
    app, client, other_client, admin, create_user, post, audit_rows
):
    user = create_user("support")
    sign_in(other_client, user)
    assert other_client.get("/").status_code == 200

    response = post(f"/admin/users/{user.id}/role", {"role": "manager"})
    assert response.status_code == 302
    assert find_user(app, user.email).role == "manager"
    assert other_client.get("/").status_code == 302
    changed = audit_rows("user.role_changed")[-1]
    assert (changed.before["role"], changed.after["role"]) == ("support", "manager")
    assert f"{user.email} is now manager." in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_the_last_admin_cannot_lose_the_admin_role(app, client, admin, post, audit_rows):
    response = post(f"/admin/users/{admin.id}/role", {"role": "viewer"})
    assert response.status_code == 302
    assert find_user(app, admin.email).role == "admin"
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "This is the last active admin; make another admin first." in page
    assert audit_rows("user.role_changed") == []


def test_an_admin_can_step_down_when_another_admin_exists(app, client, admin, create_user, post):
    create_user("admin")
    post(f"/admin/users/{admin.id}/role", {"role": "viewer"})
    assert find_user(app, admin.email).role == "viewer"
    assert client.get("/admin/users/").status_code == 302  # their own session ended too


def test_an_admin_is_not_offered_and_cannot_disable_themselves(app, client, admin, create_user, post):
    create_user("admin")
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert 'id="disable-account"' not in page and 'id="no-disable"' in page
    post(f"/admin/users/{admin.id}/disable", {"confirmed": "yes"})
    assert find_user(app, admin.email).active
    assert "You cannot disable your own account." in client.get(f"/admin/users/{admin.id}").get_data(
        as_text=True
    )


def test_disabling_asks_for_confirmation_first(app, client, admin, create_user, post, audit_rows):
    user = create_user("viewer")
    assert 'id="disable-account"' in client.get(f"/admin/users/{user.id}").get_data(as_text=True)

    asked = post(f"/admin/users/{user.id}/disable", headers={"HX-Request": "true"})

    page = unescape(asked.get_data(as_text=True))
    assert asked.status_code == 200 and page.lstrip().startswith('<section class="panel" id="account-status"')
    assert f"Disable {user.email}?" in page and 'id="disable-confirm-button"' in page
    assert find_user(app, user.email).active and audit_rows("user.disabled") == []

    went_back = post(
        f"/admin/users/{user.id}/disable", {"confirmed": "change"}, headers={"HX-Request": "true"}
    )
    assert 'id="disable-confirm"' not in went_back.get_data(as_text=True)
    assert find_user(app, user.email).active

    done = post(f"/admin/users/{user.id}/disable", {"confirmed": "yes"}, headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == f"/admin/users/{user.id}"
    assert not find_user(app, user.email).active
    assert f"{user.email} is disabled." in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_a_disabled_admin_does_not_count_as_another_admin(app, client, admin, create_user, post):
    other_admin = create_user("admin", active=False)
    post(f"/admin/users/{admin.id}/role", {"role": "viewer"})
    assert find_user(app, admin.email).role == "admin"
    assert find_user(app, other_admin.email).role == "admin"


def test_the_last_active_admin_cannot_be_disabled(app, client, create_user):
    from dashboard.users import service

    actor = create_user("admin")
    target = create_user("admin")
    with app.test_request_context():
        service.set_active(db.session.get(User, actor.id), target.id, False)
        with pytest.raises(service.UserRuleBroken, match="last active admin"):
            service.set_active(db.session.get(User, target.id), actor.id, False)


def test_disable_and_enable_are_audited(app, client, admin, create_user, post, audit_rows):
    user = create_user("viewer")
    post(f"/admin/users/{user.id}/disable", {"confirmed": "yes"})
    assert not find_user(app, user.email).active
    assert audit_rows("user.disabled")[-1].object_id == str(user.id)
    post(f"/admin/users/{user.id}/enable")
    assert find_user(app, user.email).active
    assert audit_rows("user.enabled")[-1].object_id == str(user.id)


def test_reset_password_unlocks_and_forces_a_change(
    app, client, other_client, admin, create_user, post, fake_clock
):
    user = create_user("viewer", failed_logins=3)
    # Lock the account through the login form.
    for _ in range(5):
        post("/login", {"email": user.email, "password": "wrong password"}, using=other_client)
    assert find_user(app, user.email).is_locked()

    response = post(f"/admin/users/{user.id}/password", {"password": "temporary password 2"})
    assert response.status_code == 302
    reset = find_user(app, user.email)
    assert reset.must_change_password and not reset.is_locked() and reset.failed_logins == 0

    response = post("/login", {"email": user.email, "password": "temporary password 2"}, using=other_client)
    assert response.headers["Location"] == "/account/password"
    assert (
        post("/login", {"email": user.email, "password": TEST_PASSWORD}, using=app.test_client()).status_code
        == 422
    )


def test_reset_password_refuses_a_weak_password(app, client, admin, create_user, post):
    user = create_user("viewer")
    post(f"/admin/users/{user.id}/password", {"password": "short"})
    assert not find_user(app, user.email).must_change_password
    assert "Use at least 12 characters." in client.get(f"/admin/users/{user.id}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager"])
def test_non_admins_cannot_manage_users(app, client, login_as, create_user, post, role):
    login_as(role)
    target = create_user("viewer")
    assert client.get("/admin/users/").status_code == 403
    assert post("/admin/users/", NEW_USER).status_code == 403
    assert post(f"/admin/users/{target.id}/disable", {"confirmed": "yes"}).status_code == 403
    assert post(f"/admin/users/{target.id}/unlock").status_code == 403
    assert find_user(app, "new.person@staff.example") is None
    assert find_user(app, target.email).active


LOCKED_AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_a_locked_account_says_when_it_unlocks_and_an_admin_unlocks_it(
    app, client, other_client, admin, create_user, post, audit_rows, fake_clock
):
    user = create_user("viewer", locked_until=LOCKED_AT + timedelta(minutes=15), failed_logins=0)
    assert "until 10:15 HKT" in client.get("/admin/users/").get_data(as_text=True)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "locked until 2026-01-05 10:15 HKT" in page and 'id="unlock-account"' in page

    answer = post(f"/admin/users/{user.id}/unlock")

    assert answer.headers["Location"] == f"/admin/users/{user.id}"
    assert not find_user(app, user.email).is_locked()
    [unlocked] = audit_rows("user.unlocked")
    assert (unlocked.actor_id, unlocked.object_id) == (admin.id, str(user.id))
    assert unlocked.before["locked_until"].startswith("2026-01-05T02:15")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "is unlocked and can sign in again" in page and 'id="unlock-account"' not in page
    signed_in = post("/login", {"email": user.email, "password": TEST_PASSWORD}, using=other_client)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"


def test_unlocking_an_account_that_is_not_locked_is_refused(client, admin, create_user, post, audit_rows):
    user = create_user("viewer")
    assert 'id="unlock-account"' not in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    post(f"/admin/users/{user.id}/unlock")
    assert f"{user.email} is not locked." in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert audit_rows("user.unlocked") == []


def test_unlocking_waits_for_a_fresh_code_like_every_account_change(
    app, client, admin, create_user, post, audit_rows, fake_clock
):
    secret = enrol(app, admin)
    user = create_user("viewer", locked_until=LOCKED_AT + timedelta(minutes=15))

    post(f"/admin/users/{user.id}/unlock")
    assert find_user(app, user.email).is_locked() and audit_rows("user.unlocked") == []

    wrong = post("/admin/users/step-up", {"step_up_code": "000000", "next": f"/admin/users/{user.id}"})
    assert wrong.status_code == 302
    assert "That code is wrong or was used already." in client.get(f"/admin/users/{user.id}").get_data(
        as_text=True
    )
    post("/admin/users/step-up", {"step_up_code": code_now(secret), "next": f"/admin/users/{user.id}"})
    post(f"/admin/users/{user.id}/unlock")
    assert not find_user(app, user.email).is_locked()
