"""Support revokes an agreement in chromium, and its page shows it revoked without being reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import transaction
from dashboard.users import service as users
from tests.agreements.test_agreement_service import authorised
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: DESIGN §7: a change is visible on an open page within 2 s; the assertions allow 5.
VISIBLE_WITHIN_MS = 5000


def test_support_revokes_an_agreement_and_sees_it_revoked_without_reloading(sandboxed, page, tmp_path: Path):
    agreement = authorised(sandboxed)
    clerk = users.create_user(
        "desk@staff.example", "Chan Desk", "support", TEST_PASSWORD, must_change_password=False
    )
    db.session.commit()
    # Antom's first answer to the revoke is unknown (U); the retry the back office queues settles it.
    with transaction(sandboxed.sandbox.engine) as session:
        add_switch(session, "unknown_exception", "revoke", remaining=1)

    sign_in(page, sandboxed.url, clerk.email)
    page.goto(f"{sandboxed.url}/agreements/{agreement.id}")
    expect(page.locator("#agreement-status")).to_have_text("active")

    page.locator("#revoke-action").click()
    page.wait_for_url(f"{sandboxed.url}/agreements/{agreement.id}/revoke")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#revoke-errors")).to_contain_text("Say why the agreement is revoked.")
    page.get_by_label("Reason").fill("Customer asked by phone to stop automatic payments")
    page.get_by_role("button", name="Continue").click()
    confirm = page.locator("#revoke-confirm")
    expect(confirm).to_contain_text("It cannot be undone.")
    expect(confirm).to_be_focused()
    assert page.evaluate("window.notReloaded") is True  # the checks and the confirmation came by htmx
    page.screenshot(path=str(tmp_path / "revoke-confirm.png"), full_page=True)

    page.get_by_role("button", name="Revoke the agreement").click()

    page.wait_for_url(f"{sandboxed.url}/agreements/{agreement.id}")
    expect(page.locator("#flash")).to_contain_text("The revoke is with Antom")
    expect(page.locator("#revoke-by")).to_have_text("Chan Desk")
    expect(page.locator("#revoke-reason")).to_have_text("Customer asked by phone to stop automatic payments")
    expect(page.locator("#revoke-result")).to_contain_text("waiting for Antom's answer")
    page.evaluate("window.notReloaded = true")

    sandboxed.run_jobs(scheduled=True)  # the queued retry: Antom answers S

    expect(page.locator("#agreement-status")).to_have_text("revoked", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#revoke-result")).to_contain_text("revoked on ")
    expect(page.locator("#no-revoke")).to_have_text("it was revoked")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(tmp_path / "revoked.png"), full_page=True)
