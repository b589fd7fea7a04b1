"""A journey without the mouse: sign in, search a payment from the keyboard, open it and copy its id,
go back by the crumbs, open and close the shortcut list, and jump to the inbox."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashboard.extensions import db
from tests.conftest import TEST_PASSWORD
from tests.factories import make_payment

pytestmark = [pytest.mark.browser, pytest.mark.live]


def focused(page) -> str:
    """Say what has focus: nothing (the page itself), an element's id, or else its text."""
    return page.evaluate(
        "document.activeElement === document.body ? ''"
        " : document.activeElement.id || document.activeElement.textContent.trim()"
    )


def test_a_keyboard_user_finds_opens_and_copies_a_payment_and_moves_between_pages(
    app, live_server, create_user, page
) -> None:
    with app.app_context():
        wanted = make_payment(db.session, request_id="PAY-KEYS-1", provider_payment_id="2026KEYS")
        make_payment(db.session, request_id="PAY-OTHER-1")
        db.session.commit()
        payment_id = wanted.id
    user = create_user("viewer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)

    page.goto(f"{live_server}/login")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/")

    page.keyboard.press("/")  # the overview has no search: nothing happens
    assert focused(page) == ""
    page.keyboard.press("g")
    page.keyboard.press("p")
    page.wait_for_url(f"{live_server}/payments/")

    page.keyboard.press("/")
    search = page.get_by_label("Search by id")
    expect(search).to_be_focused()
    page.keyboard.type(f"#{payment_id}")
    page.keyboard.press("Enter")
    expect(page.locator("#payments-table tbody tr")).to_have_count(1)
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused(page) == "PAY-KEYS-1":
            break
    assert focused(page) == "PAY-KEYS-1", "the result was not reached by Tab"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/payments/{payment_id}")

    copy = page.get_by_role("button", name="Copy payment id")
    copy.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "PAY-KEYS-1"

    # Back by the crumbs' link (chromium leaves Alt+Left to the browser window, which tests do not drive).
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("Boolean(document.activeElement.closest('.crumbs'))"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/payments/")
    expect(page.locator("#payments-table tbody tr")).to_have_count(2)

    opener = page.get_by_role("button", name="Keyboard shortcuts")
    opener.focus()
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(opener).to_be_focused()

    page.keyboard.press("g")
    page.keyboard.press("n")
    page.wait_for_url(f"{live_server}/notifications/")
