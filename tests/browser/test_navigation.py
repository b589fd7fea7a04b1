"""Each role signs in through the real login page and sees its own navigation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from tests.web.test_pages import NAVIGATION

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_each_role_signs_in_and_sees_its_navigation(
    role, live_server, create_user, page, tmp_path: Path
) -> None:
    user = create_user(role)

    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/")

    navigation = page.get_by_role("navigation", name="Main")
    assert navigation.get_by_role("link").all_inner_texts() == NAVIGATION[role]
    assert page.locator(".account .role-badge").inner_text() == role
    page.screenshot(path=str(tmp_path / f"navigation-{role}.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    assert "You are signed out." in page.locator("#flash").inner_text()


def test_wrong_password_shows_the_generic_message_in_place(live_server, create_user, page) -> None:
    user = create_user("support")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#error-password")
    assert "E-mail or password is wrong" in error.inner_text()
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
