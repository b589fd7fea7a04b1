"""A manager sets up an authenticator app, signs out, signs in again with a code, and a refund a
while later asks for a fresh code before anything is sent; with the phone lost, a recovery code
signs them in once — in a real browser, against the served app and its simulators."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.money import Money
from dashboard.payments import service
from tests.agreements.test_agreement_service import authorised
from tests.browser.conftest import sign_in
from tests.browser.test_money_journeys import staff
from tests.conftest import TEST_PASSWORD
from tests.factories import code_now
from tests.web.test_money_forms import refunds_of

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_enrol_sign_in_with_a_code_step_up_before_a_refund_and_recover(sandboxed, fake_clock, page):
    url = sandboxed.url
    email = staff("manager", "Mei")
    sign_in(page, url, email)

    page.get_by_role("link", name="Two-factor").click()
    expect(page.locator("#two-factor-qr svg")).to_be_visible()
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("Authenticator code").fill(code_now(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    recovery = page.locator("#recovery-codes li").first.inner_text().strip()
    page.get_by_role("link", name="I have kept them: continue").click()
    page.wait_for_url(f"{url}/")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/login/code")
    expect(page.get_by_label("Authenticator code")).to_be_focused()
    fake_clock.advance(seconds=30)  # the enrolment's code is spent: the app shows the next one
    page.get_by_label("Authenticator code").fill(code_now(secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")

    paid = service.charge_agreement(authorised(sandboxed).id, Money(40001, "HKD"), "Plan")
    fake_clock.advance(minutes=16)
    page.goto(f"{url}/payments/{paid.id}/refund")
    page.get_by_label("Amount to refund (HKD)").fill("120.00")
    page.get_by_label("Reason").select_option("Customer request")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".confirm-step")).to_be_focused()
    expect(page.locator("#help-refund-step-up-code")).to_contain_text("more than 15 minutes ago")

    page.get_by_role("button", name="Refund HK$120.00").click()
    expect(page.locator("#refund-step-up-errors")).to_be_focused()
    expect(page.locator("#error-refund-step-up-code")).to_have_text(
        "Enter the 6-digit code from your authenticator app."
    )
    assert refunds_of(paid.id) == []

    page.get_by_label("Authenticator code").fill(code_now(secret))
    page.get_by_role("button", name="Refund HK$120.00").click()
    page.wait_for_url(f"{url}/payments/{paid.id}")
    [refund] = refunds_of(paid.id)
    assert refund.amount == Money(12000, "HKD")

    # The phone is lost: a recovery code signs in, once.
    for attempt in ("first", "again"):
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{url}/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/login/code")
        page.get_by_label("Authenticator code").fill(recovery)
        page.get_by_role("button", name="Sign in").click()
        if attempt == "first":
            page.wait_for_url(f"{url}/")
    # Used once, it is spent: the code step says so and signs nobody in.
    expect(page.locator("#code-errors")).to_be_focused()
    expect(page).to_have_url(f"{url}/login/code")
