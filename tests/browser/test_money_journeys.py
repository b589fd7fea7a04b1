"""Staff move money back from the pages in a real browser, against the served app and its simulators:
a partial refund that resolves live, a large refund a second manager approves while the requester
watches, and a cancel."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.users import service as users
from tests.agreements.test_agreement_service import authorised
from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD
from tests.sandbox import worldpay_helpers as wh

pytestmark = [pytest.mark.browser, pytest.mark.live]

#: DESIGN §7: a change is visible on an open page within 2 s; the assertions allow 5.
VISIBLE_WITHIN_MS = 5000


def staff(role: str, name: str) -> str:
    email = f"{name.lower()}@staff.example"
    users.create_user(email, name, role, TEST_PASSWORD, must_change_password=False)
    db.session.commit()
    return email


def test_support_finds_a_sale_by_id_and_refunds_part_of_it_which_resolves_live(sandboxed, page):
    sale = service.create_alipayhk_payment(Money(40002, "HKD"), "Order 1")
    wh.choose(sale.redirect_url, "capture")
    sandboxed.settle()
    sign_in(page, sandboxed.url, staff("support", "Sam"))

    page.goto(f"{sandboxed.url}/payments/")
    page.get_by_label("Search by id").fill(sale.request_id)
    page.get_by_label("Search by id").press("Enter")
    page.get_by_role("link", name=sale.request_id).click()
    page.get_by_role("link", name="Refund…").click()
    expect(page.locator("#preview-refundable")).to_have_text("HK$400.02")
    page.get_by_label("Amount to refund (HKD)").fill("120.00")
    page.get_by_label("Reason").select_option("Customer request")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#refund-summary")).to_have_text(
        "Refund HK$120.00 of HK$400.02 to the customer's AlipayHK wallet via Worldpay."
    )
    expect(page.locator(".confirm-step")).to_be_focused()
    page.get_by_role("button", name="Refund HK$120.00").click()

    page.wait_for_url(f"{sandboxed.url}/payments/{sale.id}")
    expect(page.locator("#flash")).to_contain_text("The refund of HK$120.00 is with Worldpay")
    expect(page.locator("#refunds .badge")).to_have_text("processing")
    page.evaluate("window.notReloaded = true")

    sandboxed.settle()  # Worldpay's sentForRefund and refunded events arrive

    expect(page.locator("#refunds .badge")).to_have_text("succeeded", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#payment-refunded")).to_have_text("HK$120.00")
    assert page.evaluate("window.notReloaded") is True


def test_a_large_refund_waits_until_a_second_manager_approves_it_while_the_requester_watches(
    sandboxed, browser, page
):
    agreement = authorised(sandboxed)
    large = service.charge_agreement(agreement.id, Money(700001, "HKD"), "Sofa")
    sign_in(page, sandboxed.url, staff("support", "Sam"))
    approver = browser.new_context(locale="en-HK", timezone_id="Asia/Hong_Kong").new_page()
    sign_in(approver, sandboxed.url, staff("manager", "Mei"))

    page.goto(f"{sandboxed.url}/payments/{large.id}/refund")
    page.get_by_label("Amount to refund (HKD)").fill("6000.01")
    page.get_by_label("Reason").select_option("Goodwill")
    page.get_by_label("Note").fill("Arrived damaged")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#refund-waits")).to_contain_text("It waits for a second manager's approval")
    page.get_by_role("button", name="Refund HK$6,000.01").click()
    page.wait_for_url(f"{sandboxed.url}/payments/{large.id}")
    expect(page.locator("#refunds .badge")).to_have_text("awaiting approval")
    page.evaluate("window.notReloaded = true")

    approver.goto(f"{sandboxed.url}/")
    expect(approver.locator("#nav-count-approvals")).to_have_text("1 waiting")
    approver.get_by_role("link", name="Approvals").click()
    card = approver.locator("article.approval")
    expect(card).to_contain_text("Arrived damaged")
    card.get_by_label("Comment").fill("Photos checked")
    card.get_by_role("button", name="Approve…").click()
    card.get_by_role("button", name="Approve and send HK$6,000.01").click()
    expect(approver.locator("#flash")).to_contain_text("Refunded HK$6,000.01 to the customer via Antom.")
    expect(approver.locator("#approvals-empty")).to_be_visible()

    expect(page.locator("#refunds .badge")).to_have_text("succeeded", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#refunds")).to_contain_text("approved by Mei")
    expect(page.locator("#refunds")).to_contain_text("Photos checked")
    assert page.evaluate("window.notReloaded") is True
    approver.context.close()


def test_support_cancels_an_auto_debit_after_confirming(sandboxed, page):
    agreement = authorised(sandboxed)
    paid = service.charge_agreement(agreement.id, Money(10001, "HKD"), "Plan")
    sign_in(page, sandboxed.url, staff("support", "Sam"))

    page.goto(f"{sandboxed.url}/payments/{paid.id}")
    page.get_by_role("link", name="Cancel payment…").click()
    page.get_by_label("Reason").fill("Charged twice")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#cancel-summary")).to_contain_text("Cancel the payment of HK$100.01 at Antom")
    page.get_by_role("button", name="Cancel the payment").click()

    page.wait_for_url(f"{sandboxed.url}/payments/{paid.id}")
    expect(page.locator("#flash")).to_contain_text("Antom cancelled the payment")
    expect(page.locator("#payment-status")).to_have_text("cancelled")
    expect(page.locator("#no-cancel")).to_have_text("a cancelled payment cannot be cancelled")
