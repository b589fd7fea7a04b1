"""An admin makes an API key in chromium: the secret appears once, the list shows the key at once,
and the page reads well on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_an_admin_makes_a_key_and_copies_its_secret(live_server, create_user, page, tmp_path: Path):
    sign_in(page, live_server, create_user("admin").email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.wait_for_url(f"{live_server}/admin/api-keys/")
    page.evaluate("() => { window.notReloaded = true; }")

    page.get_by_role("button", name="Make key").click()  # nothing filled in
    expect(page.locator("#create-key-errors")).to_be_focused()
    expect(page.locator("#create-key-errors")).to_contain_text("Choose at least one scope.")

    page.get_by_label("Name").fill("Web shop")
    page.get_by_label("read: read agreements, payments, refunds and the status feed").check()
    page.get_by_label("refunds:write: refund payments (large refunds wait for a manager)").check()
    page.get_by_role("button", name="Make key").click()

    secret = page.locator("#new-key-secret")
    expect(secret).to_contain_text("bo_live_")
    row = page.locator("#api-keys tr", has_text="Web shop")
    expect(row).to_contain_text(secret.inner_text()[:12] + "…")
    expect(row).to_contain_text("refunds:write, read")
    expect(page.get_by_label("Name")).to_have_value("")
    assert page.evaluate("() => window.notReloaded === true")
    page.screenshot(path=str(tmp_path / "api-keys-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    # Only the table scrolls sideways (inside its own box); the page itself fits the phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "api-keys-390.png"), full_page=True)

    page.reload()
    expect(page.locator("#new-key-secret")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Revoke Web shop").click()
    expect(page.locator("#flash")).to_contain_text("is revoked")
    expect(page.locator("#api-keys tr", has_text="Web shop")).to_contain_text("revoked")
