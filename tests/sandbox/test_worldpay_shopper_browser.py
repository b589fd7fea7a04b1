"""The Worldpay shopper page driven in a real browser (Playwright on Debian's chromium), every outcome."""

from __future__ import annotations

import pytest

from tests.sandbox import worldpay_helpers as wh

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.mark.parametrize(
    ("button", "last_event", "target"),
    [
        ("Authorised and captured", "sentForSettlement", "success"),
        ("Authorised", "authorized", "success"),
        ("Refuse", "refused", "failure"),
        ("Error", "error", "failure"),
        ("Cancel", "cancelledByCustomer", "cancel"),
        ("Leave pending", "pending", "pending"),
        ("Expire", "requestExpired", "failure"),
    ],
)
def test_shopper_picks_an_outcome_in_the_browser(
    sandbox, worldpay, run_due, fake_clock, page, tmp_path, button, last_event, target
):
    created = wh.create(worldpay, sandbox.url, minor=4200)

    page.goto(created.redirect_url)
    assert page.get_by_role("heading", name="Pay with AlipayHK").is_visible()
    shot = tmp_path / "worldpay-shopper.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(f"**/shop/{target}")

    fake_clock.advance(seconds=1)
    run_due()
    run_due()
    assert worldpay.query_payment(created.payment_id).last_event == last_event
    if last_event != "pending":
        page.goto(created.redirect_url)
        assert page.get_by_text("cannot be used again").is_visible()
