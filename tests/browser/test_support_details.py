"""Two pages staff read closely, in chromium: a pending agreement's authorisation link is copied with
its button, and disabling an account is confirmed on the account's page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard import clock
from dashboard.extensions import db
from tests.browser.conftest import sign_in
from tests.factories import make_agreement

pytestmark = [pytest.mark.browser, pytest.mark.live]

LINK = "https://sandbox.example/antom/authorize/Zm9yIHRoZSBjdXN0b21lcg"


def test_support_copies_the_link_a_pending_agreement_waits_on(
    app, live_server, create_user, page, tmp_path: Path
):
    with app.app_context():
        agreement = make_agreement(
            db.session, customer_ref="CUST-HK-42", auth_url=LINK, created_at=clock.now() - timedelta(hours=1)
        )
        db.session.commit()
        agreement_id = agreement.id
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in(page, live_server, create_user("support").email)

    page.goto(f"{live_server}/agreements/{agreement_id}")
    expect(page.locator("#auth-link-url")).to_have_text(LINK)
    expect(page.locator("#auth-link-expiry")).to_contain_text(
        re.compile(r"HKT \(expires in 2[23] h \d+ min\)")
    )
    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#auth-link-copied")).to_have_text("Copied.")
    assert page.evaluate("() => navigator.clipboard.readText()") == LINK
    page.screenshot(path=str(tmp_path / "agreement-pending.png"), full_page=True)


def test_an_admin_confirms_before_disabling_an_account(live_server, create_user, page, tmp_path: Path):
    locked = create_user("support", locked_until=clock.now() + timedelta(minutes=15))
    sign_in(page, live_server, create_user("admin").email)

    page.goto(f"{live_server}/admin/users/{locked.id}")
    expect(page.locator("#account-state")).to_contain_text("locked until")
    page.get_by_role("button", name="Disable account…").click()
    expect(page.locator("#disable-confirm")).to_be_focused()
    expect(page.locator("#disable-confirm")).to_contain_text(f"Disable {locked.email}?")
    page.screenshot(path=str(tmp_path / "user-disable-confirm.png"), full_page=True)

    page.get_by_role("button", name="Disable the account").click()
    page.wait_for_url(f"{live_server}/admin/users/{locked.id}")
    expect(page.locator("#account-state")).to_contain_text("disabled")
    expect(page.get_by_role("button", name="Enable account")).to_be_visible()
