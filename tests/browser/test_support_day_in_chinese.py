"""A support user's day in Traditional Chinese on a phone, without the mouse: sign in after a wrong
password, find a payment by its number, refund part of it, go back to the list and the inbox, and sign
out through the top bar's menu. Only words already translated are asserted; ids and roles lead the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from dashboard.money import Money
from dashboard.payments import service
from dashboard.users import service as users
from tests.conftest import TEST_PASSWORD
from tests.sandbox import worldpay_helpers as wh

pytestmark = [pytest.mark.browser, pytest.mark.live]

PHONE = {"width": 390, "height": 844}
#: DESIGN §7: a change is visible on an open page within 2 s; the assertions allow 5.
VISIBLE_WITHIN_MS = 5000


def tab_to(page, selector: str, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has focus."""
    for _ in range(60):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached by {key}")


def fits_the_phone(page) -> None:
    """The page reads in Traditional Chinese and never scrolls sideways (wide tables scroll in their box)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")


def test_support_signs_in_refunds_part_of_a_payment_and_signs_out_in_chinese_on_a_phone(sandboxed, browser):
    sale = service.create_alipayhk_payment(Money(40002, "HKD"), "Order 1")
    wh.choose(sale.redirect_url, "capture")
    sandboxed.settle()
    users.create_user("sam@staff.example", "Sam", "support", TEST_PASSWORD, must_change_password=False)
    db.session.commit()
    context = browser.new_context(locale="zh-HK", timezone_id="Asia/Hong_Kong", viewport=PHONE)
    page = context.new_page()
    url = sandboxed.url

    page.goto(f"{url}/login")
    fits_the_phone(page)
    expect(page.get_by_label("電郵")).to_be_focused()
    page.keyboard.type("sam@staff.example")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    summary = page.locator("#login-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("電郵或密碼錯誤，或戶口已被鎖定。")
    fits_the_phone(page)
    tab_to(page, "#password")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("概覽")
    fits_the_phone(page)

    page.keyboard.press("g")
    page.keyboard.press("p")
    page.wait_for_url(f"{url}/payments/")
    page.keyboard.press("/")
    expect(page.get_by_label("按編號搜尋")).to_be_focused()
    page.keyboard.type(f"#{sale.id}")
    page.keyboard.press("Enter")
    rows = page.locator("#payments-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator(".badge")).to_have_text("已結算")
    fits_the_phone(page)
    tab_to(page, f"#payments-table a[href='/payments/{sale.id}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/payments/{sale.id}")
    expect(page.locator("#payment-status")).to_have_text("已結算")
    fits_the_phone(page)

    tab_to(page, "#refund-action")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/payments/{sale.id}/refund")
    fits_the_phone(page)
    tab_to(page, "[name=amount]")
    expect(page.get_by_label("退款金額（HKD）")).to_be_focused()
    page.keyboard.type("120.00")
    page.keyboard.press("Tab")
    reason = page.get_by_label("原因")
    expect(reason).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(reason).to_have_value("Customer request")
    tab_to(page, "#refund-continue")
    page.keyboard.press("Enter")
    expect(page.locator(".confirm-step")).to_be_focused()
    expect(page.locator("#refund-summary")).to_have_text(
        "經 Worldpay 將 HK$400.02 中的 HK$120.00 退還至客戶的 AlipayHK 電子錢包。"
    )
    fits_the_phone(page)
    tab_to(page, "#refund-confirm-button")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{url}/payments/{sale.id}")
    expect(page.locator("#flash")).to_contain_text(
        "HK$120.00 的退款已交 Worldpay 處理；結果送達後會在此頁顯示。"
    )
    expect(page.locator("#refunds .badge")).to_have_text("處理中")
    fits_the_phone(page)
    sandboxed.settle()  # Worldpay's sentForRefund and refunded events arrive
    expect(page.locator("#refunds .badge")).to_have_text("成功", timeout=VISIBLE_WITHIN_MS)
    expect(page.locator("#payment-refunded")).to_have_text("HK$120.00")

    tab_to(page, ".crumbs a", key="Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/payments/")
    expect(page.locator("#payments-table tbody tr .badge")).to_have_text("已結算")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("付款")
    fits_the_phone(page)

    page.keyboard.press("g")
    page.keyboard.press("n")
    page.wait_for_url(f"{url}/notifications/")
    expect(page.get_by_label("按編號搜尋")).to_be_visible()
    expect(page.locator("#notifications tbody tr").first).to_be_visible()
    fits_the_phone(page)

    # At phone width the top bar's links wait behind its Menu button.
    menu = page.locator(".menu-button")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#main-nav")).to_be_hidden()
    tab_to(page, ".menu-button")
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("通知")
    fits_the_phone(page)
    # The shortcut list opened from the menu closes on Escape and leaves the menu open, focus on its opener.
    tab_to(page, "#shortcuts-open")
    page.keyboard.press("Enter")
    sheet = page.locator("#shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("通知")
    expect(page.locator("#shortcuts-close")).to_be_focused()
    fits_the_phone(page)
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page.locator("#shortcuts-open")).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "true")
    tab_to(page, "form[action$='/logout'] button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/login")
    expect(page.get_by_label("電郵")).to_be_focused()
    fits_the_phone(page)
    context.close()
