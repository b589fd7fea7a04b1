"""Forms in chromium: adding a user shows them at once; changing a password lands on the overview."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.live]

NEW_PASSWORD = "a much better passphrase"


def test_an_admin_adds_a_user_who_shows_in_the_list_at_once(live_server, create_user, page, tmp_path: Path):
    sign_in(page, live_server, create_user("admin").email)
    page.goto(f"{live_server}/admin/users/")
    page.evaluate("() => { window.notReloaded = true; }")

    page.get_by_label("E-mail").fill("chan.tai.man@staff.example")
    page.get_by_label("Name").fill("陳大文")
    page.get_by_label("Role").select_option("support")
    page.get_by_label("Temporary password").fill("temporary password 1")
    page.get_by_role("button", name="Add user").click()

    expect(page.locator("#flash")).to_contain_text("chan.tai.man@staff.example can now log in as support.")
    row = page.locator("#users-table tr", has_text="chan.tai.man@staff.example")
    expect(row).to_contain_text("陳大文")
    expect(row).to_contain_text("support")
    for label in ("E-mail", "Name", "Temporary password"):
        expect(page.get_by_label(label)).to_have_value("")  # the form starts afresh
    expect(page.get_by_role("button", name="Add user")).to_be_focused()
    assert page.evaluate("() => window.notReloaded === true")
    assert page.url == f"{live_server}/admin/users/"
    page.screenshot(path=str(tmp_path / "users-added.png"), full_page=True)


def test_a_user_changes_their_password_and_lands_on_the_overview(
    live_server, create_user, page, tmp_path: Path
):
    sign_in(page, live_server, create_user("viewer").email)
    page.locator(".topbar").get_by_role("link", name="Password").click()
    page.wait_for_url(f"{live_server}/account/password")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    summary = page.locator("#password-errors")
    expect(summary).to_contain_text("That is not your current password.")
    expect(summary).to_be_focused()
    assert page.locator("header.topbar").count() == 1
    page.screenshot(path=str(tmp_path / "password-error.png"), full_page=True)

    page.get_by_label("Current password").fill(TEST_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(f"{live_server}/")
    expect(page.locator("#flash")).to_contain_text(
        "Your password is changed. Other sessions were signed out."
    )
    assert page.locator("header.topbar").count() == 1
    assert page.locator("#password-form").count() == 0
